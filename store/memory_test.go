package store_test

import (
	"testing"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/store"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/store/storetest"
)

func TestMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return store.NewMemory() })
}
