package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// wantConfig is a Config with the server settings' defaults filled in
// when serverDefaults is set.
type wantConfig struct {
	Addr, DataDir, LogFormat, SiteName string
	LogLevel                           slog.Level
	NHSBranding, PageCache             bool
	ShutdownTimeout                    time.Duration
	Approvals, APIRate                 int
	MaxUploadBytes                     int64
	serverDefaults                     bool
}

func (w wantConfig) config() Config {
	c := Config{Addr: w.Addr, DataDir: w.DataDir, LogLevel: w.LogLevel, LogFormat: w.LogFormat, SiteName: w.SiteName,
		NHSBranding: w.NHSBranding, ShutdownTimeout: w.ShutdownTimeout, Approvals: w.Approvals, MaxUploadBytes: w.MaxUploadBytes,
		PageCache: w.PageCache, APIRate: w.APIRate, ClickHouseCluster: "candour"}
	if w.serverDefaults {
		c.PageCacheBytes, c.ReadTimeout, c.UploadTimeout, c.WriteTimeout = 64<<20, 30*time.Second, 30*time.Minute, 60*time.Second
		c.MaterialisePages = true
		c.MaxInFlight, c.QueueWait, c.SubmitWait = 0, 2*time.Second, 2*time.Second
	}
	return c
}

// --clickhouse takes one DSN or a cluster's shards separated by commas,
// and names the one that does not parse.
func TestClickHouseSetting(t *testing.T) {
	got, _, err := parseConfig("serve", "", "", true, []string{"--clickhouse", "clickhouse://a:9000/candour,clickhouse://b:9000/candour", "--clickhouse-cluster", "two"}, envOf(nil), io.Discard)
	if err != nil || got.ClickHouseDSN != "clickhouse://a:9000/candour,clickhouse://b:9000/candour" || got.ClickHouseCluster != "two" {
		t.Errorf("two shards: %q %q %v", got.ClickHouseDSN, got.ClickHouseCluster, err)
	}
	for _, bad := range []string{"clickhouse://a:9000/candour,", "clickhouse://a:9000/candour,clickhouse://[::1"} {
		if _, _, err := parseConfig("serve", "", "", true, []string{"--clickhouse", bad}, envOf(nil), io.Discard); err == nil || !strings.Contains(err.Error(), "DSN 2") {
			t.Errorf("--clickhouse %q: %v, want an error naming DSN 2", bad, err)
		}
	}
}

func TestConfigPrecedence(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want wantConfig
	}{
		{"defaults", nil, nil,
			wantConfig{Addr: "127.0.0.1:8080", DataDir: "./candour-data", LogLevel: slog.LevelInfo, LogFormat: "text", SiteName: "Candour", ShutdownTimeout: 10 * time.Second,
				Approvals: 2, MaxUploadBytes: 200 << 20, PageCache: true, APIRate: 600, serverDefaults: true}},
		{"environment over default", nil, map[string]string{"CANDOUR_ADDR": "127.0.0.1:9000", "CANDOUR_DATA_DIR": "/srv/data", "CANDOUR_NHS_BRANDING": "true", "CANDOUR_LOG_LEVEL": "debug", "CANDOUR_APPROVALS": "3", "CANDOUR_MAX_UPLOAD": "1GiB"},
			wantConfig{Addr: "127.0.0.1:9000", DataDir: "/srv/data", LogLevel: slog.LevelDebug, LogFormat: "text", SiteName: "Candour", NHSBranding: true, ShutdownTimeout: 10 * time.Second,
				Approvals: 3, MaxUploadBytes: 1 << 30, PageCache: true, APIRate: 600, serverDefaults: true}},
		{"flag over environment", []string{"--addr", "127.0.0.1:0", "--data-dir=/tmp/x", "--shutdown-timeout", "2s", "--max-upload", "500KiB"}, map[string]string{"CANDOUR_ADDR": "127.0.0.1:9000", "CANDOUR_DATA_DIR": "/srv/data", "CANDOUR_MAX_UPLOAD": "1GiB"},
			wantConfig{Addr: "127.0.0.1:0", DataDir: "/tmp/x", LogLevel: slog.LevelInfo, LogFormat: "text", SiteName: "Candour", ShutdownTimeout: 2 * time.Second,
				Approvals: 2, MaxUploadBytes: 500 << 10, PageCache: true, APIRate: 600, serverDefaults: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, rest, err := parseConfig("serve", "", "", true, c.args, envOf(c.env), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			want := c.want.config()
			if !reflect.DeepEqual(got, want) || len(rest) != 0 {
				t.Errorf("got %+v (rest %v), want %+v", got, rest, want)
			}
		})
	}
}

func TestConfigErrorsNameTheSetting(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"bad address in environment", nil, map[string]string{"CANDOUR_ADDR": "8080"}, `CANDOUR_ADDR "8080"`},
		{"bad address flag", []string{"--addr", "localhost"}, nil, `--addr "localhost"`},
		{"bad log level", []string{"--log-level", "loud"}, nil, `--log-level "loud"`},
		{"bad boolean", nil, map[string]string{"CANDOUR_NHS_BRANDING": "yes please"}, `CANDOUR_NHS_BRANDING`},
		{"bad boolean flag", []string{"--materialise-pages=maybe"}, nil, `--materialise-pages "maybe": want true or false`},
		{"bad approvals", []string{"--approvals", "0"}, nil, `--approvals "0"`},
		{"bad upload size", nil, map[string]string{"CANDOUR_MAX_UPLOAD": "lots"}, `CANDOUR_MAX_UPLOAD "lots"`},
		{"negative max in flight", []string{"--max-in-flight", "-1"}, nil, `--max-in-flight "-1"`},
		{"empty data dir flag", []string{"--data-dir="}, nil, `--data-dir ""`},
		{"unknown flag", []string{"--port", "80"}, nil, "flag provided but not defined: -port"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := parseConfig("serve", "", "", true, c.args, envOf(c.env), io.Discard)
			var ue *usageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want a usage error containing %q", err, c.want)
			}
		})
	}
}

func TestOptionsAfterArguments(t *testing.T) {
	cfg, rest, err := parseConfig("import release", "", "FILE", false, []string{"d.json", "--data-dir", "/tmp/y"}, noEnv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DataDir != "/tmp/y" || len(rest) != 1 || rest[0] != "d.json" {
		t.Errorf("got data dir %q and arguments %v", cfg.DataDir, rest)
	}
	if _, _, err := parseConfig("import release", "", "FILE", false, []string{"--addr", "x:1"}, noEnv, io.Discard); err == nil {
		t.Error("import accepted --addr, a server-only option")
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"serve", "--help"}, {"demo", "-h"}, {"import", "--help"}, {"import", "release", "--help"}, {"release", "--help"}} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), args, noEnv, &out, &errOut)
		if err != nil && !errors.Is(err, errHelp) {
			t.Errorf("%v: %v", args, err)
		}
		if !strings.Contains(out.String(), "Usage: candour") && !strings.Contains(out.String(), "Usage:\n  candour") {
			t.Errorf("%v: help does not start with usage:\n%s", args, out.String())
		}
	}
	var out bytes.Buffer
	err := run(context.Background(), []string{"frobnicate"}, noEnv, &out, &out)
	var ue *usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), `unknown command "frobnicate"`) {
		t.Errorf("unknown command: %v", err)
	}
}

// TestGracefulShutdownOnSignal builds the real binary, starts it, and
// sends SIGTERM and SIGINT: it must stop cleanly, with status 0.
func TestGracefulShutdownOnSignal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "candour")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data-dir", filepath.Join(t.TempDir(), "d"))
			cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			line, err := bufio.NewReader(stdout).ReadString('\n')
			if err != nil || !strings.Contains(line, "serving http://127.0.0.1:") {
				cmd.Process.Kill()
				t.Fatalf("first line %q (err %v)\n%s", line, err, stderr.String())
			}
			url := strings.Fields(line)[3]
			if _, body, _ := (&server{base: url}).get(t, "/healthz"); !strings.Contains(body, "ok") {
				t.Errorf("healthz before the signal: %s", body)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("exit after %s: %v\n%s", sig, err, stderr.String())
				}
			case <-time.After(20 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("still running 20 s after %s", sig)
			}
			if !strings.Contains(stderr.String(), "msg=stopped") {
				t.Errorf("no 'stopped' log line after %s:\n%s", sig, stderr.String())
			}
		})
	}
}

// --feedback-sources (or CANDOUR_FEEDBACK_SOURCES) names a JSON file of
// feedback sources, read when the configuration is built: a file that
// does not read or does not validate is a usage error naming the setting
// and the field. A read node refuses it: it polls nothing.
func TestFeedbackSourcesSetting(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "sources.json")
	os.WriteFile(good, []byte(`[{"name": "care-stories", "title": "Care Stories", "feed_url": "https://stories.example/feed.atom",
		"format": "atom", "interval": "30m", "homepage": "https://stories.example/"}]`), 0o600)
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`[{"name": "care-stories", "title": "Care Stories", "feed_url": "ftp://stories.example/feed.atom", "format": "atom", "interval": "30m"}]`), 0o600)

	for name, c := range map[string]struct {
		args []string
		env  map[string]string
	}{"flag": {[]string{"--feedback-sources", good}, nil}, "environment": {nil, map[string]string{"CANDOUR_FEEDBACK_SOURCES": good}}} {
		cfg, _, err := parseConfig("serve", "", "", true, c.args, envOf(c.env), io.Discard)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if cfg.FeedbackSources != good || len(cfg.Feedback) != 1 || cfg.Feedback[0].Name != "care-stories" || cfg.Feedback[0].Interval != 30*time.Minute {
			t.Errorf("%s: got %q %+v", name, cfg.FeedbackSources, cfg.Feedback)
		}
	}
	if cfg, _, err := parseConfig("serve", "", "", true, nil, noEnv, io.Discard); err != nil || cfg.FeedbackSources != "" || cfg.Feedback != nil {
		t.Errorf("default: %q %v %v, want no sources", cfg.FeedbackSources, cfg.Feedback, err)
	}
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"--feedback-sources", bad}, []string{"--feedback-sources", "feed URL", "ftp://"}},
		{[]string{"--feedback-sources", filepath.Join(dir, "missing.json")}, []string{"--feedback-sources", "missing.json"}},
	} {
		_, _, err := parseConfig("serve", "", "", true, c.args, noEnv, io.Discard)
		var ue *usageError
		if !errors.As(err, &ue) {
			t.Errorf("%v: got %v, want a usage error", c.args, err)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: %v does not say %q", c.args, err, w)
			}
		}
	}
	if _, _, err := parseConfig("import release", "", "FILE", false, []string{"--feedback-sources", good}, noEnv, io.Discard); err == nil {
		t.Error("import accepted --feedback-sources, a server-only option")
	}
	err := run(context.Background(), []string{"serve", "--read-only", "--data-dir", dir, "--feedback-sources", good}, noEnv, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--feedback-sources is for the publishing node") {
		t.Errorf("a read node given --feedback-sources: %v", err)
	}
}
