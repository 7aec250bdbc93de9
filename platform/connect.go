package platform

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
)

// Environment variables read by the mains, Temporal's names where Temporal
// has one (the Temporal CLI and SDKs read the same).
const (
	EnvAddress       = "TEMPORAL_ADDRESS"
	EnvNamespace     = "TEMPORAL_NAMESPACE"
	EnvTLS           = "TEMPORAL_TLS"
	EnvTLSCert       = "TEMPORAL_TLS_CERT"
	EnvTLSKey        = "TEMPORAL_TLS_KEY"
	EnvTLSCA         = "TEMPORAL_TLS_CA"
	EnvTLSServerName = "TEMPORAL_TLS_SERVER_NAME"
	EnvAPIKey        = "TEMPORAL_API_KEY"
	EnvTaskQueue     = "BATCHINFER_TASK_QUEUE"
)

// Defaults for ConnectOptions.
const (
	DefaultAddress   = "127.0.0.1:7233"
	DefaultNamespace = "default"
)

// ConnectOptions says which Temporal cluster to talk to and how. The TLS
// certificate fields take a file path or the PEM text itself (a value
// starting with "-----BEGIN"), which suits environment variables.
type ConnectOptions struct {
	// Address of the frontend, host:port. Default 127.0.0.1:7233 or $TEMPORAL_ADDRESS.
	Address string
	// Namespace. Default "default" or $TEMPORAL_NAMESPACE.
	Namespace string
	// TLS forces TLS on (true) or off (false). Nil: on when any TLSCert,
	// TLSKey, TLSCA or TLSServerName is set or an APIKey is given, else
	// off. $TEMPORAL_TLS.
	TLS *bool
	// TLSCert and TLSKey are the client certificate and its private key,
	// for mutual TLS; both or neither. $TEMPORAL_TLS_CERT, $TEMPORAL_TLS_KEY.
	TLSCert, TLSKey string
	// TLSCA is the CA certificate bundle that signs the server's
	// certificate. Default: the system roots. $TEMPORAL_TLS_CA.
	TLSCA string
	// TLSServerName overrides the server name checked against the server's
	// certificate. Default: the host of Address. $TEMPORAL_TLS_SERVER_NAME.
	TLSServerName string
	// APIKey is sent as a bearer token on every call (Temporal Cloud API
	// keys); it turns TLS on unless TLS is false. $TEMPORAL_API_KEY.
	APIKey string
}

// EnvOr returns the environment variable's value, or def when unset or empty.
func EnvOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// ConnectOptionsFromEnv returns the options given by the environment,
// with the defaults for what is unset.
func ConnectOptionsFromEnv() (ConnectOptions, error) {
	o := ConnectOptions{
		Address:       EnvOr(EnvAddress, DefaultAddress),
		Namespace:     EnvOr(EnvNamespace, DefaultNamespace),
		TLSCert:       os.Getenv(EnvTLSCert),
		TLSKey:        os.Getenv(EnvTLSKey),
		TLSCA:         os.Getenv(EnvTLSCA),
		TLSServerName: os.Getenv(EnvTLSServerName),
		APIKey:        os.Getenv(EnvAPIKey),
	}
	if v := os.Getenv(EnvTLS); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return o, fmt.Errorf("%s=%q: want true or false", EnvTLS, v)
		}
		o.TLS = &b
	}
	return o, nil
}

// RegisterFlags adds the connection flags (--address, --namespace, --tls,
// --tls-cert, --tls-key, --tls-ca, --tls-server-name, --api-key) to fs,
// with o's current values as defaults. Secrets given by the environment
// are not shown as defaults in the help.
func (o *ConnectOptions) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.Address, "address", o.Address, "Temporal frontend host:port (env "+EnvAddress+")")
	fs.StringVar(&o.Namespace, "namespace", o.Namespace, "Temporal namespace (env "+EnvNamespace+")")
	fs.Var(&optBool{p: &o.TLS}, "tls", "use TLS (default: on when a certificate option or an API key is given; env "+EnvTLS+")")
	fs.Var(&secretString{p: &o.TLSCert}, "tls-cert", "client certificate for mutual TLS: a PEM `file` or PEM text (env "+EnvTLSCert+")")
	fs.Var(&secretString{p: &o.TLSKey}, "tls-key", "private key of --tls-cert: a PEM `file` or PEM text (env "+EnvTLSKey+")")
	fs.Var(&secretString{p: &o.TLSCA}, "tls-ca", "CA certificates that sign the server's certificate: a PEM `file` or PEM text (env "+EnvTLSCA+"; default: system roots)")
	fs.StringVar(&o.TLSServerName, "tls-server-name", o.TLSServerName, "server name to verify the server's certificate against (env "+EnvTLSServerName+")")
	fs.Var(&secretString{p: &o.APIKey}, "api-key", "API `key`, sent as a bearer token; turns TLS on (env "+EnvAPIKey+")")
}

// tlsOn says whether the connection uses TLS.
func (o ConnectOptions) tlsOn() bool {
	if o.TLS != nil {
		return *o.TLS
	}
	return o.TLSCert != "" || o.TLSKey != "" || o.TLSCA != "" || o.TLSServerName != "" || o.APIKey != ""
}

// ClientOptions builds the SDK's client options: address, namespace, TLS
// configuration and API key credentials. It reads the certificate files.
func (o ConnectOptions) ClientOptions() (client.Options, error) {
	opts := client.Options{HostPort: o.Address, Namespace: o.Namespace}
	if o.Address == "" {
		opts.HostPort = DefaultAddress
	}
	if o.Namespace == "" {
		opts.Namespace = DefaultNamespace
	}
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return opts, fmt.Errorf("--tls-cert and --tls-key go together: give both for mutual TLS, or neither")
	}
	if o.APIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(o.APIKey)
	}
	if !o.tlsOn() {
		if o.TLSCert != "" || o.TLSCA != "" || o.TLSServerName != "" {
			return opts, fmt.Errorf("TLS is off (--tls=false) but TLS certificate options are set")
		}
		// An API key would otherwise turn TLS on in the SDK.
		opts.ConnectionOptions.TLSDisabled = true
		return opts, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: o.TLSServerName}
	if o.TLSCert != "" {
		certPEM, err := readPEM(o.TLSCert, "--tls-cert")
		if err != nil {
			return opts, err
		}
		keyPEM, err := readPEM(o.TLSKey, "--tls-key")
		if err != nil {
			return opts, err
		}
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return opts, fmt.Errorf("loading the client certificate (--tls-cert, --tls-key): %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if o.TLSCA != "" {
		caPEM, err := readPEM(o.TLSCA, "--tls-ca")
		if err != nil {
			return opts, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return opts, fmt.Errorf("--tls-ca: no PEM certificate found in %s", describePEM(o.TLSCA))
		}
		cfg.RootCAs = pool
	}
	opts.ConnectionOptions.TLS = cfg
	return opts, nil
}

// Dial connects to the cluster; logger may be nil (SDK messages below
// warnings discarded). Extra options (metrics handler, interceptors) come
// through with.
func (o ConnectOptions) Dial(logger *slog.Logger, with ...func(*client.Options)) (client.Client, error) {
	opts, err := o.ClientOptions()
	if err != nil {
		return nil, err
	}
	opts.Logger = quietSDKLogger()
	if logger != nil {
		opts.Logger = sdklog.NewStructuredLogger(logger)
	}
	for _, f := range with {
		f(&opts)
	}
	c, err := client.Dial(opts)
	if err != nil {
		return nil, fmt.Errorf("connecting to temporal at %s (namespace %s): %w", opts.HostPort, opts.Namespace, err)
	}
	return c, nil
}

func readPEM(v, flagName string) ([]byte, error) {
	if strings.HasPrefix(strings.TrimSpace(v), "-----BEGIN") {
		return []byte(v), nil
	}
	b, err := os.ReadFile(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flagName, err)
	}
	return b, nil
}

func describePEM(v string) string {
	if strings.HasPrefix(strings.TrimSpace(v), "-----BEGIN") {
		return "the PEM text given"
	}
	return v
}

// quietSDKLogger drops the SDK's info chatter; warnings and errors go to stderr.
func quietSDKLogger() sdklog.Logger {
	return sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
}

// optBool is a tri-state boolean flag: unset (nil), true or false.
type optBool struct{ p **bool }

func (b *optBool) String() string {
	if b == nil || b.p == nil || *b.p == nil {
		return ""
	}
	return strconv.FormatBool(**b.p)
}

func (b *optBool) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("want true or false")
	}
	*b.p = &v
	return nil
}

func (b *optBool) IsBoolFlag() bool { return true }

// Type names the value in pflag's help.
func (b *optBool) Type() string { return "bool" }

// secretString is a string flag whose default (from the environment) is
// not printed in the help.
type secretString struct{ p *string }

func (s *secretString) String() string { return "" }

func (s *secretString) Set(v string) error { *s.p = v; return nil }

// Type names the value in pflag's help.
func (s *secretString) Type() string { return "string" }
