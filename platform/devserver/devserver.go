package devserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uiserveroptions "github.com/temporalio/ui-server/v2/server/server_options"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"

	"github.com/batchinfer/batchinfer/platform"
)

// Options configures an embedded development server. Zero values
// take the documented defaults.
type Options struct {
	// IP the frontend and UI listen on. Default 127.0.0.1.
	IP string
	// Port of the frontend gRPC service. Default 7233; -1 picks a free port.
	Port int
	// UIPort of the Temporal Web UI. Default 8233; -1 picks a free port; 0
	// after defaulting never happens. Set DisableUI to run without it.
	UIPort int
	// DisableUI runs the server without the Web UI.
	DisableUI bool
	// DBFile persists workflows, schedules and visibility to this SQLite file
	// (created with its schema when absent). Empty: in memory, gone at exit.
	DBFile string
	// Namespace registered at start. Default "default".
	Namespace string
	// SearchAttributes registered on the namespace at start (also added to
	// an existing DBFile that lacks them). The SQLite visibility store
	// allows at most 10 Keyword and 3 of each other type. The mains pass
	// workflows.SearchAttributes().
	SearchAttributes map[string]enumspb.IndexedValueType
	// LogLevel of the server's own log on stderr ("debug", "info", "warn",
	// "error"). Default "": no server log.
	LogLevel string
}

// Server is a running embedded Temporal server (and optionally its Web UI).
type Server struct {
	server    temporal.Server
	ui        *uiserver.Server
	hostPort  string
	uiURL     string
	namespace string
}

// Start starts a Temporal server with all four services in this
// process, backed by SQLite (in memory unless DBFile is set), and the Web UI.
// It returns once the frontend accepts connections. Call Stop to shut down.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.IP == "" {
		opts.IP = "127.0.0.1"
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	var err error
	if opts.Port, err = pickPort(opts.IP, opts.Port, 7233); err != nil {
		return nil, err
	}
	if !opts.DisableUI {
		if opts.UIPort, err = pickPort(opts.IP, opts.UIPort, 8233); err != nil {
			return nil, err
		}
	}
	conf, err := devServerConfig(opts)
	if err != nil {
		return nil, err
	}
	var srvLogger log.Logger = log.NewNoopLogger()
	if opts.LogLevel != "" {
		srvLogger = log.NewZapLogger(log.BuildZapLogger(log.Config{Level: opts.LogLevel}))
	}
	authorizer, err := authorization.GetAuthorizerFromConfig(&conf.Global.Authorization)
	if err != nil {
		return nil, fmt.Errorf("creating authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&conf.Global.Authorization, srvLogger)
	if err != nil {
		return nil, fmt.Errorf("creating claim mapper: %w", err)
	}
	hosts := map[primitives.ServiceName]static.Hosts{}
	for _, svc := range []primitives.ServiceName{primitives.FrontendService, primitives.HistoryService, primitives.MatchingService, primitives.WorkerService} {
		hosts[svc] = static.SingleLocalHost(net.JoinHostPort(opts.IP, strconv.Itoa(conf.Services[string(svc)].RPC.GRPCPort)))
	}
	dyn := dynamicconfig.StaticClient{
		dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key():      true,
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 100,
	}
	server, err := temporal.NewServer(
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(hosts),
		temporal.WithLogger(srvLogger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(dyn),
	)
	if err != nil {
		return nil, fmt.Errorf("creating temporal server: %w", err)
	}
	if err := server.Start(); err != nil {
		return nil, fmt.Errorf("starting temporal server on %s:%d: %w", opts.IP, opts.Port, err)
	}
	ds := &Server{
		server:    server,
		hostPort:  net.JoinHostPort(opts.IP, strconv.Itoa(opts.Port)),
		namespace: opts.Namespace,
	}
	if !opts.DisableUI {
		ds.ui = uiserver.NewServer(uiserveroptions.WithConfigProvider(&uiconfig.Config{
			Host:                opts.IP,
			Port:                opts.UIPort,
			TemporalGRPCAddress: ds.hostPort,
			EnableUI:            true,
			CORS:                uiconfig.CORS{CookieInsecure: true},
			HideLogs:            true,
			DisableNewsFetch:    true,
		}))
		uiErr := make(chan error, 1)
		go func() { uiErr <- ds.ui.Start() }()
		ds.uiURL = fmt.Sprintf("http://%s", net.JoinHostPort(opts.IP, strconv.Itoa(opts.UIPort)))
		if err := waitListening(ctx, net.JoinHostPort(opts.IP, strconv.Itoa(opts.UIPort)), uiErr); err != nil {
			ds.Stop()
			return nil, fmt.Errorf("starting web UI on port %d: %w", opts.UIPort, err)
		}
	}
	if err := ds.waitReady(ctx); err != nil {
		ds.Stop()
		return nil, err
	}
	if len(opts.SearchAttributes) > 0 && opts.DBFile != "" {
		// A database file made before an attribute was added lacks it.
		c, err := ds.Dial(client.Options{Logger: quietSDKLogger()})
		if err == nil {
			_, err = platform.RegisterSearchAttributes(ctx, c, opts.Namespace, opts.SearchAttributes)
			c.Close()
		}
		if err != nil {
			ds.Stop()
			return nil, fmt.Errorf("registering search attributes: %w", err)
		}
	}
	return ds, nil
}

// HostPort is the frontend address clients dial, e.g. "127.0.0.1:7233".
func (s *Server) HostPort() string { return s.hostPort }

// Namespace is the namespace registered at start.
func (s *Server) Namespace() string { return s.namespace }

// UIURL is the Web UI's base URL, or "" when the UI is disabled.
func (s *Server) UIURL() string { return s.uiURL }

// WorkflowURL links a workflow run in the Web UI ("" without UI).
func (s *Server) WorkflowURL(workflowID, runID string) string {
	if s.uiURL == "" {
		return ""
	}
	return fmt.Sprintf("%s/namespaces/%s/workflows/%s/%s/history", s.uiURL, url.PathEscape(s.namespace), url.PathEscape(workflowID), url.PathEscape(runID))
}

// Dial returns a client for the server's namespace.
func (s *Server) Dial(opts client.Options) (client.Client, error) {
	opts.HostPort = s.hostPort
	opts.Namespace = s.namespace
	return client.Dial(opts)
}

// Stop shuts down the UI and the server.
func (s *Server) Stop() {
	if s.ui != nil {
		s.ui.Stop()
	}
	_ = s.server.Stop()
}

func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		c, err := client.Dial(client.Options{HostPort: s.hostPort, Namespace: s.namespace, Logger: quietSDKLogger()})
		if err == nil {
			_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
			if err == nil {
				_, err = c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: s.namespace})
			}
			c.Close()
			if err == nil {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for temporal server at %s: %w", s.hostPort, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func devServerConfig(opts Options) (*config.Config, error) {
	sqlConf := &config.SQL{PluginName: sqliteplugin.PluginName}
	if opts.DBFile == "" {
		sqlConf.ConnectAttributes = map[string]string{"mode": "memory", "cache": "shared"}
		sqlConf.DatabaseName = strconv.Itoa(rand.IntN(1 << 30))
	} else {
		sqlConf.ConnectAttributes = map[string]string{"mode": "rwc"}
		sqlConf.DatabaseName = opts.DBFile
		if _, err := os.Stat(opts.DBFile); errors.Is(err, os.ErrNotExist) {
			if _, err := os.Stat(filepath.Dir(opts.DBFile)); err != nil {
				return nil, fmt.Errorf("database file %s: %w", opts.DBFile, err)
			}
			if err := sqliteschema.SetupSchema(sqlConf); err != nil {
				return nil, fmt.Errorf("creating schema in %s: %w", opts.DBFile, err)
			}
		}
	}
	ns, err := sqliteschema.NewNamespaceConfig("active", opts.Namespace, false, opts.SearchAttributes)
	if err != nil {
		return nil, fmt.Errorf("namespace %s: %w", opts.Namespace, err)
	}
	if err := sqliteschema.CreateNamespaces(sqlConf, ns); err != nil {
		return nil, fmt.Errorf("registering namespace %s: %w", opts.Namespace, err)
	}

	svc := func(port int) (config.Service, error) {
		var s config.Service
		if port == 0 {
			p, err := freePort(opts.IP)
			if err != nil {
				return s, err
			}
			port = p
		}
		s.RPC.GRPCPort = port
		s.RPC.BindOnIP = opts.IP
		return s, nil
	}
	conf := &config.Config{}
	conf.Global.Membership.MaxJoinDuration = 30 * time.Second
	conf.Global.Membership.BroadcastAddress = opts.IP
	conf.Persistence.DefaultStore = "sqlite"
	conf.Persistence.VisibilityStore = "sqlite"
	conf.Persistence.NumHistoryShards = 1
	conf.Persistence.DataStores = map[string]config.DataStore{"sqlite": {SQL: sqlConf}}
	conf.ClusterMetadata = &cluster.Config{
		FailoverVersionIncrement: 10,
		MasterClusterName:        "active",
		CurrentClusterName:       "active",
		ClusterInformation: map[string]cluster.ClusterInformation{
			"active": {
				Enabled:                true,
				InitialFailoverVersion: 1,
				RPCAddress:             net.JoinHostPort(opts.IP, strconv.Itoa(opts.Port)),
			},
		},
	}
	conf.DCRedirectionPolicy.Policy = "noop"
	conf.Services = map[string]config.Service{}
	for name, port := range map[string]int{"frontend": opts.Port, "history": 0, "matching": 0, "worker": 0} {
		s, err := svc(port)
		if err != nil {
			return nil, err
		}
		conf.Services[name] = s
	}
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	conf.PublicClient.HostPort = net.JoinHostPort(opts.IP, strconv.Itoa(opts.Port))
	return conf, nil
}

// pickPort resolves a port option: 0 -> def, -1 -> a free port, else as is.
// A requested port that is taken is an error naming it.
func pickPort(ip string, port, def int) (int, error) {
	switch port {
	case 0:
		port = def
	case -1:
		return freePort(ip)
	}
	l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		return 0, fmt.Errorf("port %d on %s is not free (another server running? pick another with --port/--ui-port): %w", port, ip, err)
	}
	_ = l.Close()
	return port, nil
}

func freePort(ip string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return 0, fmt.Errorf("finding a free port on %s: %w", ip, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitListening(ctx context.Context, addr string, failed <-chan error) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = conn.Close()
			return nil
		}
		select {
		case err := <-failed:
			return err
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// quietSDKLogger drops the SDK's info chatter; warnings and errors go to stderr.
func quietSDKLogger() sdklog.Logger {
	return sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
}
