package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/candour/candour/catalogue/feedback"
	"github.com/candour/candour/site"
)

// Config is the program's whole configuration, built once from flags and
// CANDOUR_* environment variables (a flag wins over its variable, a
// variable over the default) and passed down explicitly.
type Config struct {
	Addr              string         // --addr, CANDOUR_ADDR
	DataDir           string         // --data-dir, CANDOUR_DATA_DIR
	LogLevel          slog.Level     // --log-level, CANDOUR_LOG_LEVEL
	LogFormat         string         // --log-format, CANDOUR_LOG_FORMAT: text or json
	SiteName          string         // --site-name, CANDOUR_SITE_NAME
	NHSBranding       bool           // --nhs-branding, CANDOUR_NHS_BRANDING
	ShutdownTimeout   time.Duration  // --shutdown-timeout, CANDOUR_SHUTDOWN_TIMEOUT
	Approvals         int            // --approvals, CANDOUR_APPROVALS
	MaxUploadBytes    int64          // --max-upload, CANDOUR_MAX_UPLOAD
	PageCache         bool           // --page-cache, CANDOUR_PAGE_CACHE
	MaterialisePages  bool           // --materialise-pages, CANDOUR_MATERIALISE_PAGES
	WebSubPrivate     bool           // --websub-private-callbacks, CANDOUR_WEBSUB_PRIVATE_CALLBACKS
	APIRate           int            // --api-rate, CANDOUR_API_RATE
	PageCacheBytes    int64          // --page-cache-bytes, CANDOUR_PAGE_CACHE_BYTES
	TrustedProxies    []netip.Prefix // --trusted-proxy, CANDOUR_TRUSTED_PROXY
	ReadTimeout       time.Duration  // --read-timeout, CANDOUR_READ_TIMEOUT
	UploadTimeout     time.Duration  // --upload-timeout, CANDOUR_UPLOAD_TIMEOUT
	WriteTimeout      time.Duration  // --write-timeout, CANDOUR_WRITE_TIMEOUT
	MaxInFlight       int            // --max-in-flight, CANDOUR_MAX_IN_FLIGHT
	SubmitWait        time.Duration  // --submit-wait, CANDOUR_SUBMIT_WAIT
	QueueWait         time.Duration  // --queue-wait, CANDOUR_QUEUE_WAIT
	ClickHouseDSN     string         // --clickhouse, CANDOUR_CLICKHOUSE_DSN: one DSN, or a cluster's shards separated by commas
	ClickHouseCluster string         // --clickhouse-cluster, CANDOUR_CLICKHOUSE_CLUSTER
	// FeedbackSources is the file of feedback sources the publishing node
	// polls (--feedback-sources, CANDOUR_FEEDBACK_SOURCES), and Feedback
	// the sources it lists, read with feedback.ReadSources.
	FeedbackSources string
	Feedback        []feedback.Source
	// embeddedOnPurpose opens a folder marked as on ClickHouse
	// (clickhouse.json) without --clickhouse: set, never from a flag, by
	// callers that read only the catalogue or, as migrate-to-clickhouse
	// does, the embedded copies themselves.
	embeddedOnPurpose bool
}

// positiveDuration stores a duration setting that must be above zero.
func positiveDuration(dst func(*Config) *time.Duration) func(c *Config, v string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("want a duration above zero, such as 30s or 5m")
		}
		*dst(c) = d
		return nil
	}
}

// setting describes one configuration value: its flag, variable, default
// and help, and how to store it.
type setting struct {
	flag, env, def, help string
	server               bool // only for commands that serve
	set                  func(c *Config, v string) error
}

var settings = []setting{
	{"addr", "CANDOUR_ADDR", "127.0.0.1:8080", "address to listen on (host:port; port 0 picks a free port)", true,
		func(c *Config, v string) error {
			if !strings.Contains(v, ":") {
				return fmt.Errorf("want host:port, such as 127.0.0.1:8080")
			}
			c.Addr = v
			return nil
		}},
	{"data-dir", "CANDOUR_DATA_DIR", "./candour-data", "folder holding the database and release files", false,
		func(c *Config, v string) error {
			if strings.TrimSpace(v) == "" {
				return fmt.Errorf("must not be empty")
			}
			c.DataDir = v
			return nil
		}},
	{"log-level", "CANDOUR_LOG_LEVEL", "info", "least severe log level shown: debug, info, warn or error", false,
		func(c *Config, v string) error { return c.LogLevel.UnmarshalText([]byte(v)) }},
	{"log-format", "CANDOUR_LOG_FORMAT", "text", "log line format: text or json", false,
		func(c *Config, v string) error {
			if v != "text" && v != "json" {
				return fmt.Errorf("want text or json")
			}
			c.LogFormat = v
			return nil
		}},
	{"site-name", "CANDOUR_SITE_NAME", "Candour", "name shown in the site's header and page titles", true,
		func(c *Config, v string) error { c.SiteName = v; return nil }},
	{"nhs-branding", "CANDOUR_NHS_BRANDING", "false", "show the NHS logo (only for deployments run by an NHS organisation)", true,
		boolFlag(func(c *Config, b bool) { c.NHSBranding = b })},
	{"shutdown-timeout", "CANDOUR_SHUTDOWN_TIMEOUT", "10s", "how long to let requests finish on SIGINT or SIGTERM", true,
		func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return fmt.Errorf("want a duration such as 10s")
			}
			c.ShutdownTimeout = d
			return nil
		}},
	{"page-cache", "CANDOUR_PAGE_CACHE", "true", "keep rendered public pages in memory until a publication changes them (at most a minute)", true,
		boolFlag(func(c *Config, b bool) { c.PageCache = b })},
	{"materialise-pages", "CANDOUR_MATERIALISE_PAGES", "true", "render every scorecard and indicator page after each publication into DATA/pages and serve them from there (false: render each when asked)", true,
		boolFlag(func(c *Config, b bool) { c.MaterialisePages = b })},
	{"websub-private-callbacks", "CANDOUR_WEBSUB_PRIVATE_CALLBACKS", "false", "let WebSub subscribers use callbacks on loopback and private network addresses (tests, closed networks)", true,
		boolFlag(func(c *Config, b bool) { c.WebSubPrivate = b })},
	{"api-rate", "CANDOUR_API_RATE", "600", "how many public API requests a minute one client may make (0: no limit)", true,
		func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return fmt.Errorf("want a whole number, 0 for no limit")
			}
			c.APIRate = n
			return nil
		}},
	{"page-cache-bytes", "CANDOUR_PAGE_CACHE_BYTES", "64MiB", "most memory the page cache may hold, e.g. 64MiB; least recently used pages are dropped first", true,
		func(c *Config, v string) error {
			n, err := parseBytes(v)
			c.PageCacheBytes = n
			return err
		}},
	{"trusted-proxy", "CANDOUR_TRUSTED_PROXY", "", "reverse proxies whose X-Forwarded-For gives the client's address, as addresses or CIDR ranges separated by commas (e.g. 127.0.0.1,::1); empty: trust none", true,
		func(c *Config, v string) error {
			p, err := site.ParseTrustedProxies(v)
			c.TrustedProxies = p
			return err
		}},
	{"read-timeout", "CANDOUR_READ_TIMEOUT", "30s", "longest time to receive one request's headers and body (uploads have --upload-timeout)", true,
		positiveDuration(func(c *Config) *time.Duration { return &c.ReadTimeout })},
	{"upload-timeout", "CANDOUR_UPLOAD_TIMEOUT", "30m", "longest time to receive a signed-in upload", true,
		positiveDuration(func(c *Config) *time.Duration { return &c.UploadTimeout })},
	{"write-timeout", "CANDOUR_WRITE_TIMEOUT", "60s", "longest time to send an answer (not downloads and exports, which stream for as long as they need)", true,
		positiveDuration(func(c *Config) *time.Duration { return &c.WriteTimeout })},
	{"max-in-flight", "CANDOUR_MAX_IN_FLIGHT", "0", "most requests handled at once (0: four a CPU); others wait up to --queue-wait, then get 503 with Retry-After", true,
		func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return fmt.Errorf("want a whole number: 0 for four a CPU, or the most requests at once")
			}
			c.MaxInFlight = n
			return nil
		}},
	{"queue-wait", "CANDOUR_QUEUE_WAIT", "2s", "longest a request waits for a turn when --max-in-flight are being handled", true,
		positiveDuration(func(c *Config) *time.Duration { return &c.QueueWait })},
	{"submit-wait", "CANDOUR_SUBMIT_WAIT", "2s", "how long the workspace's submit form waits for a submission's checks before showing a progress page", true,
		positiveDuration(func(c *Config) *time.Duration { return &c.SubmitWait })},
	{"approvals", "CANDOUR_APPROVALS", "2", "how many distinct panel members must approve each release", false,
		func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 20 {
				return fmt.Errorf("want a whole number from 1 to 20")
			}
			c.Approvals = n
			return nil
		}},
	{"clickhouse", "CANDOUR_CLICKHOUSE_DSN", "", "a ClickHouse server for dataset rows, indicator observations and audit outcomes, e.g. clickhouse://127.0.0.1:9000/candour, or a cluster's shards separated by commas (see --clickhouse-cluster); empty: keep them in the data folder's database", false,
		func(c *Config, v string) error {
			if v != "" {
				for i, dsn := range strings.Split(v, ",") {
					if _, err := clickhouse.ParseDSN(dsn); err != nil || dsn == "" {
						return fmt.Errorf("DSN %d: want one such as clickhouse://127.0.0.1:9000/candour: %v", i+1, err)
					}
				}
			}
			c.ClickHouseDSN = v
			return nil
		}},
	{"clickhouse-cluster", "CANDOUR_CLICKHOUSE_CLUSTER", "candour", "the cluster, as the shards' remote_servers name it, when --clickhouse names several shards", false,
		func(c *Config, v string) error {
			c.ClickHouseCluster = v
			return nil
		}},
	{"feedback-sources", "CANDOUR_FEEDBACK_SOURCES", "", "a JSON file of patient feedback services whose feeds the publishing node polls (see README, Pooled feedback); empty: poll none", true,
		func(c *Config, v string) error {
			if v == "" {
				return nil
			}
			f, err := os.Open(v)
			if err != nil {
				return err
			}
			defer f.Close()
			sources, err := feedback.ReadSources(f)
			if err != nil {
				return err
			}
			c.FeedbackSources, c.Feedback = v, sources
			return nil
		}},
	{"max-upload", "CANDOUR_MAX_UPLOAD", "200MiB", "largest submission accepted (all files together), e.g. 200MiB or 2GiB", false,
		func(c *Config, v string) error {
			n, err := parseBytes(v)
			if err != nil {
				return err
			}
			c.MaxUploadBytes = n
			return nil
		}},
}

// parseBytes reads a size such as 500KiB, 200MiB, 2GiB or a plain number
// of bytes.
func parseBytes(v string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}, {"", 1}}
	for _, u := range units {
		num, ok := strings.CutSuffix(v, u.suffix)
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
		if err != nil || n < 1 {
			break
		}
		return n * u.mult, nil
	}
	return 0, fmt.Errorf("want a size such as 200MiB, 2GiB or a number of bytes")
}

// errHelp is returned when the user asked for help; it is not a failure.
var errHelp = errors.New("help requested")

// usageError is a mistake in the command line; main exits with status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// parseConfig parses a subcommand's flags. server says whether the
// subcommand serves (and so takes the server settings). It returns the
// configuration and the arguments left after the flags.
func parseConfig(name, summary, argsHelp string, server bool, args []string, getenv func(string) string, helpOut io.Writer) (Config, []string, error) {
	fs := flag.NewFlagSet("candour "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	values := map[string]*string{}
	var used []setting
	for _, s := range settings {
		if s.server && !server {
			continue
		}
		used = append(used, s)
		values[s.flag] = fs.String(s.flag, "", "")
	}
	fs.Usage = func() {}
	// Options may come before or after the arguments.
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				printSubcommandHelp(helpOut, name, summary, argsHelp, used)
				return Config{}, nil, errHelp
			}
			return Config{}, nil, &usageError{fmt.Sprintf("candour %s: %v (see candour %s --help)", name, err, name)}
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var cfg Config
	for _, s := range settings {
		v, source := s.def, "default"
		if e := getenv(s.env); e != "" {
			v, source = e, s.env
		}
		if given[s.flag] {
			v, source = *values[s.flag], "--"+s.flag
		}
		if err := s.set(&cfg, v); err != nil {
			return Config{}, nil, &usageError{fmt.Sprintf("candour %s: %s %q: %v", name, source, v, err)}
		}
	}
	return cfg, positional, nil
}

func printSubcommandHelp(w io.Writer, name, summary, argsHelp string, used []setting) {
	fmt.Fprintf(w, "Usage: candour %s [options]%s\n\n%s\n\nOptions (each also settable by the environment variable shown):\n", name, argsSuffix(argsHelp), summary)
	for _, s := range used {
		fmt.Fprintf(w, "  --%-18s %s\n  %-20s %s (default %q)\n", s.flag, s.help, "", s.env, s.def)
	}
}

func argsSuffix(argsHelp string) string {
	if argsHelp == "" {
		return ""
	}
	return " " + argsHelp
}

// logger builds the program's logger from the configuration.
func (c Config) logger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// boolFlag is the setter of a true-or-false option.
func boolFlag(set func(*Config, bool)) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("want true or false")
		}
		set(c, b)
		return nil
	}
}
