package proxy

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// answerApiVersions builds the proxy's ApiVersions response for a client that
// sent the given version: the intersection of what the upstream broker
// offers and what the proxy decodes, plus the upstream's
// feature flags. A version newer than the proxy knows gets the KIP-511
// answer: a v0 body with UNSUPPORTED_VERSION and the ApiVersions range, so
// that the client retries with a version both sides speak.
//
// The result is a response body; ApiVersions always uses response header v0.
func (t *apiTable) answerApiVersions(version int16, upstream *kmsg.ApiVersionsResponse) []byte {
	self := t.apiVersions
	resp := kmsg.NewPtrApiVersionsResponse()
	if version < 0 || version > self.reviewed {
		resp.Version = 0
		resp.ErrorCode = kerr.UnsupportedVersion.Code
		resp.ApiKeys = []kmsg.ApiVersionsResponseApiKey{{
			ApiKey:     self.key,
			MinVersion: 0,
			MaxVersion: self.reviewed,
		}}
		return resp.AppendTo(nil)
	}
	resp.Version = version
	resp.ApiKeys = t.intersectVersions(upstream)
	if upstream != nil {
		resp.SupportedFeatures = upstream.SupportedFeatures
		resp.FinalizedFeaturesEpoch = upstream.FinalizedFeaturesEpoch
		resp.FinalizedFeatures = upstream.FinalizedFeatures
	} else {
		resp.FinalizedFeaturesEpoch = -1
	}
	return resp.AppendTo(nil)
}

// intersectVersions keeps each upstream API the proxy supports, with its
// version range narrowed to what both sides speak. Unknown and vendor keys
// are dropped. The APIs the proxy answers itself get its own range,
// whatever the upstream offers; ApiVersions itself is always present.
func (t *apiTable) intersectVersions(upstream *kmsg.ApiVersionsResponse) []kmsg.ApiVersionsResponseApiKey {
	self := kmsg.ApiVersionsResponseApiKey{ApiKey: t.apiVersions.key, MaxVersion: t.apiVersions.reviewed}
	if upstream == nil {
		return []kmsg.ApiVersionsResponseApiKey{self}
	}
	out := make([]kmsg.ApiVersionsResponseApiKey, 0, len(upstream.ApiKeys)+1)
	for _, k := range upstream.ApiKeys {
		spec := t.lookup(k.ApiKey)
		if spec == nil || (spec.local != nil && spec != t.apiVersions) {
			continue // unsupported, or answered by the proxy (below)
		}
		if spec == t.apiVersions {
			// Speak no newer ApiVersions than the broker, whose
			// semantics (KIP-1242 identity checks) the proxy mirrors.
			self.MaxVersion = min(self.MaxVersion, max(k.MaxVersion, 3))
			continue
		}
		lo, hi := max(k.MinVersion, 0), min(k.MaxVersion, spec.reviewed)
		if lo > hi {
			continue
		}
		out = append(out, kmsg.ApiVersionsResponseApiKey{ApiKey: k.ApiKey, MinVersion: lo, MaxVersion: hi})
	}
	for _, spec := range t.local {
		out = append(out, kmsg.ApiVersionsResponseApiKey{ApiKey: spec.key, MaxVersion: spec.reviewed})
	}
	return append(out, self)
}
