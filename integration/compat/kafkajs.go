package compat

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/integration/npmproject"
)

// KafkaJSRunner runs plans with KafkaJS (npm kafkajs) through the Node.js
// script kafkajs/compat.mjs. The KafkaJS version is pinned by
// kafkajs/package.json and package-lock.json; the project is installed
// with `npm ci` into kafkajs/node_modules when that is missing or stale.
// KafkaJS has no OIDC support of its own, so with OAUTHBEARER the script
// sends Plan.Token.
type KafkaJSRunner struct{}

// Version installs the project if needed and returns the installed KafkaJS
// version.
func (KafkaJSRunner) Version(ctx context.Context) (string, error) {
	dir, err := kafkaJSInstall(ctx)
	if err != nil {
		return "", err
	}
	v, err := npmproject.InstalledVersion(dir, "kafkajs")
	if err != nil {
		return "", fmt.Errorf("kafkajs: %w", err)
	}
	return v, nil
}

// Run installs the project if needed and runs `node compat.mjs PLAN`.
func (KafkaJSRunner) Run(ctx context.Context, p Plan) (string, []Result, error) {
	dir, err := kafkaJSInstall(ctx)
	if err != nil {
		return "", nil, err
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return "", nil, fmt.Errorf("kafkajs: finding node (Node.js 20+ is needed): %w", err)
	}
	// Silences KafkaJS 2's notice about its default partitioner, which is
	// only noise here.
	env := []string{"KAFKAJS_NO_PARTITIONER_WARNING=1"}
	return RunProcess(ctx, dir, env, p, node, "compat.mjs")
}

// kafkaJSInstall installs the KafkaJS project beside this file if needed
// and returns its folder.
func kafkaJSInstall(ctx context.Context) (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("kafkajs: cannot locate the package source folder")
	}
	dir := filepath.Join(filepath.Dir(file), "kafkajs")
	if err := npmproject.EnsureInstalled(ctx, dir); err != nil {
		return "", fmt.Errorf("kafkajs: %w", err)
	}
	return dir, nil
}
