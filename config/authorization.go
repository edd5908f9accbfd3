package config

// authorization checks what needs no knowledge of the authorizer in the
// authorization section. The ACLs, role bindings and super users are
// checked by the proxy's command, which builds the policy from them
// (cmd/kafka-auth-proxy/assemble).
func (k *checker) authorization(a *Authorization) {
	if a.AuditAllowedSampleRate < 0 || a.AuditAllowedSampleRate > 1 {
		k.add("authorization.audit_allowed_sample_rate", "must be between 0 and 1; got %v", a.AuditAllowedSampleRate)
	}
}
