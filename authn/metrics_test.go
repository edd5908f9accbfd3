package authn

import dto "github.com/prometheus/client_model/go"

// dtoMetric holds one metric read back in tests.
type dtoMetric struct{ dto.Metric }
