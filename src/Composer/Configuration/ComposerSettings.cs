using Composer.Diagnostics;

namespace Composer.Configuration;

/// <summary>The whole configuration. Property initialisers are the built-in defaults (lowest precedence).</summary>
[ConfigSection(IsRoot = true)]
public sealed partial class ComposerSettings
{
    [ConfigKey("manager")] public ManagerSettings Manager { get; set; } = new();

    [ConfigKey("opencti")] public PlatformSettings OpenCti { get; set; } = PlatformSettings.OpenCtiDefaults();

    [ConfigKey("openaev")] public PlatformSettings OpenAev { get; set; } = PlatformSettings.OpenAevDefaults();

    // Top-level proxy keys as the product page writes them (config.json and HTTP_PROXY-style environment).
    // They apply to every platform unless the platform sets its own key.
    [ConfigKey("http_proxy"), Secret(UrlCredentials = true), ConfigDoc("Proxy for http:// targets (also HTTP_PROXY / http_proxy).")]
    public string? HttpProxy { get; set; }

    [ConfigKey("https_proxy"), Secret(UrlCredentials = true), ConfigDoc("Proxy for https:// targets (also HTTPS_PROXY / https_proxy).")]
    public string? HttpsProxy { get; set; }

    [ConfigKey("no_proxy"), ConfigDoc("Hosts reached directly (also NO_PROXY / no_proxy). Go semantics.")]
    public string? NoProxy { get; set; }

    [ConfigKey("https_proxy_ca"), ConfigDoc("CA certificates (paths or PEM blocks) trusted for proxied TLS (also HTTPS_PROXY_CA).")]
    public List<string>? HttpsProxyCa { get; set; }

    [ConfigKey("https_proxy_reject_unauthorized"), ConfigDoc("false disables certificate validation for proxied connections only (also HTTPS_PROXY_REJECT_UNAUTHORIZED).")]
    public bool? HttpsProxyRejectUnauthorized { get; set; }

    [ConfigKey("app")] public AppSettings App { get; set; } = new();
}

/// <summary>The product page's names for the OpenCTI server certificate settings (app.https_cert.*).</summary>
[ConfigSection]
public sealed partial class AppSettings
{
    [ConfigKey("https_cert")] public HttpsCertSettings HttpsCert { get; set; } = new();
}

[ConfigSection]
public sealed partial class HttpsCertSettings
{
    [ConfigKey("ca"), ConfigDoc("Extra CA certificates (paths or PEM blocks) trusted for the platform server, added to the system roots.")]
    public List<string>? Ca { get; set; }

    [ConfigKey("reject_unauthorized"), ConfigDoc("false accepts any platform server certificate (same as unsecured_certificate: true).")]
    public bool? RejectUnauthorized { get; set; }
}

[ConfigSection]
public sealed partial class ManagerSettings
{
    [ConfigKey("id"), ConfigDoc("Manager identity: registered with the platform and set as the opencti-manager label of connectors.")] public string Id { get; set; } = "default-manager-id";
    [ConfigKey("name"), ConfigDoc("Name sent when the manager registers: at least 2 characters, not only spaces (the platform's rule).")] public string Name { get; set; } = "Filigran connector manager";
    [ConfigKey("execute_schedule", Unit = "seconds"), ConfigDoc("Seconds between orchestration cycles.")] public int ExecuteSchedule { get; set; } = 10;
    [ConfigKey("ping_alive_schedule", Unit = "seconds"), ConfigDoc("Seconds between pings to the platform; under 300 (a manager silent for 5 minutes shows as inactive).")] public int PingAliveSchedule { get; set; } = 60;
    [ConfigKey("credentials_key"), ConfigDoc("PEM of the RSA private key (PKCS#8 or PKCS#1, unencrypted; 4096 bits recommended, 2048 and 3072 accepted).")] public Secret? CredentialsKey { get; set; }
    [ConfigKey("credentials_key_filepath"), ConfigDoc("Path to the PEM private key file; wins over credentials_key.")] public string? CredentialsKeyFilepath { get; set; }
    [ConfigKey("max_parallel"), ConfigDoc("Connectors worked on at once (deploy, pull, start, reports), each in its own lane; the others wait their turn.")] public int MaxParallel { get; set; } = 4;
    [ConfigKey("connector_deadline", Unit = "seconds"), ConfigDoc("Longest one connector's work of one cycle may take (pre-flight, pull, create, start, reports) before it is abandoned, counted as a failure and retried after a backoff; it never holds up other connectors or the listings.")] public int ConnectorDeadline { get; set; } = 300;
    [ConfigKey("health_schedule", Unit = "seconds"), ConfigDoc("Seconds between health reports of each deployed connector, running or not (at most 240: the platform forgets health after 300), spread over the interval; a connector whose workload starts, crashes, stops or restarts reports at once.")] public int HealthSchedule { get; set; } = 240;
    [ConfigKey("reboot_loop")] public RebootLoopSettings RebootLoop { get; set; } = new();
    [ConfigKey("logger")] public LoggerSettings Logger { get; set; } = new();
    [ConfigKey("debug")] public DebugSettings Debug { get; set; } = new();
    [ConfigKey("health")] public HealthSettings Health { get; set; } = new();
    [ConfigKey("logs")] public LogsSettings Logs { get; set; } = new();
}

/// <summary>manager.logs: how much of a connector's log one upload carries, whatever the connector writes (the newest lines win).</summary>
[ConfigSection]
public sealed partial class LogsSettings
{
    [ConfigKey("max_lines"), ConfigDoc("At most this many of a connector's newest lines per upload (1 to 10000); also the tail Composer asks the orchestrator for.")] public int MaxLines { get; set; } = 100;
    [ConfigKey("max_bytes", Unit = "bytes"), ConfigDoc("At most this many bytes (UTF-8) of lines per upload (1024 to 16777216); the oldest lines make room for newer ones.")] public int MaxBytes { get; set; } = 65536;
    [ConfigKey("max_line_bytes", Unit = "bytes"), ConfigDoc("A longer line is cut to this many bytes, ending with …, before it is uploaded (64 to max_bytes).")] public int MaxLineBytes { get; set; } = 4096;
}

[ConfigSection]
public sealed partial class RebootLoopSettings
{
    [ConfigKey("stop"), ConfigDoc("Stop a connector found in a reboot loop (more than 3 restarts while restarting or within 5 minutes) and keep it stopped until its requested status or its configuration changes on the platform.")] public bool Stop { get; set; }
}

[ConfigSection]
public sealed partial class HealthSettings
{
    [ConfigKey("enable"), ConfigDoc("Serve /healthz, /readyz and /metrics (Prometheus text) over HTTP.")] public bool Enable { get; set; }
    [ConfigKey("listen"), ConfigDoc("host:port of the health listener; 127.0.0.1 keeps it on the machine, 0.0.0.0 serves probes from outside (containers, Kubernetes).")] public string Listen { get; set; } = "127.0.0.1:8080";
}

[ConfigSection]
public sealed partial class LoggerSettings
{
    [ConfigKey("level"), ConfigDoc("trace, debug, info, warn or error.")] public string Level { get; set; } = "info";
    [ConfigKey("format"), ConfigDoc("json (default) or pretty.")] public string Format { get; set; } = "json";
    [ConfigKey("console"), ConfigDoc("Write log lines to stdout.")] public bool Console { get; set; } = true;
    [ConfigKey("directory"), ConfigDoc("Directory for log files; false or empty writes no file, true means ./logs.")] public string? Directory { get; set; } = "false";
}

[ConfigSection]
public sealed partial class DebugSettings
{
    [ConfigKey("show_env_vars"), ConfigDoc("Log the environment of each connector when it starts.")] public bool ShowEnvVars { get; set; }
    [ConfigKey("show_sensitive_env_vars"), ConfigDoc("With show_env_vars, also print sensitive values (otherwise ***REDACTED***).")] public bool ShowSensitiveEnvVars { get; set; }
}

[ConfigSection]
public sealed partial class PlatformSettings
{
    [ConfigKey("enable"), ConfigDoc("Manage connectors of this platform (requires the manager private key).")] public bool Enable { get; set; }
    [ConfigKey("url"), ConfigDoc("Absolute http(s) URL of the platform.")] public string Url { get; set; } = "http://host.docker.internal:4000";
    [ConfigKey("token"), ConfigDoc("API token (Authorization: Bearer).")] public Secret Token { get; set; } = Secret.Placeholder("ChangeMe");
    [ConfigKey("unsecured_certificate"), ConfigDoc("Accept any platform server certificate.")] public bool UnsecuredCertificate { get; set; }

    [ConfigKey("with_proxy"), ConfigAlias("daemon.with_proxy"), ConfigDoc("Use the proxy settings for outbound calls; false means no proxy at all.")]
    public bool WithProxy { get; set; }

    [ConfigKey("http_proxy"), Secret(UrlCredentials = true), ConfigDoc("Proxy for http:// targets of this platform; overrides the top-level http_proxy.")] public string? HttpProxy { get; set; }
    [ConfigKey("https_proxy"), Secret(UrlCredentials = true), ConfigDoc("Proxy for https:// targets of this platform; overrides the top-level https_proxy.")] public string? HttpsProxy { get; set; }
    [ConfigKey("no_proxy"), ConfigDoc("Hosts reached without the proxy (comma-separated, Go semantics).")] public string? NoProxy { get; set; }
    [ConfigKey("https_proxy_ca"), ConfigDoc("List, JSON-array string, single value or indexed keys; each a path or a PEM block.")] public List<string>? HttpsProxyCa { get; set; }
    [ConfigKey("https_proxy_reject_unauthorized"), ConfigDoc("false disables certificate validation for proxied connections (absent means true).")] public bool? HttpsProxyRejectUnauthorized { get; set; }
    [ConfigKey("logs_schedule", Unit = "seconds"), ConfigDoc("Minimum seconds between connector log uploads.")] public int LogsSchedule { get; set; } = 10;
    [ConfigKey("request_timeout", Unit = "seconds"), ConfigDoc("Total timeout of a platform request (the connector listing has its own, listing_timeout).")] public int RequestTimeout { get; set; } = 30;
    [ConfigKey("listing_timeout", Unit = "seconds"), ConfigDoc("Total timeout of the connector listing, body included; OpenCTI may hold it up to 90 s while managed connectors auto-upgrade.")] public int ListingTimeout { get; set; } = 120;
    [ConfigKey("listing_max_size", Unit = "bytes"), ConfigDoc("Largest connector listing answer read, in bytes; a larger one is not read further and fails the cycle (nothing is changed).")] public long ListingMaxSize { get; set; } = 16 * 1024 * 1024;
    [ConfigKey("connect_timeout", Unit = "seconds"), ConfigDoc("Connect timeout of a platform request.")] public int ConnectTimeout { get; set; } = 10;
    [ConfigKey("daemon")] public DaemonSettings Daemon { get; set; } = new();

    // Same values as config/default.yaml, so a missing default.yaml changes nothing (a test enforces it).
    internal static PlatformSettings OpenCtiDefaults() => new()
    {
        Enable = true,
        Daemon = new DaemonSettings { Kubernetes = new KubernetesSettings(), Portainer = new PortainerSettings() },
    };

    internal static PlatformSettings OpenAevDefaults() => new()
    {
        Enable = false,
        Daemon = new DaemonSettings
        {
            Kubernetes = new KubernetesSettings(),
            Portainer = new PortainerSettings { Api = "https://localhost:9443" },
        },
    };
}

[ConfigSection]
public sealed partial class DaemonSettings
{
    [ConfigKey("selector"), ConfigDoc("kubernetes, docker, swarm or portainer.")] public string Selector { get; set; } = "kubernetes";
    [ConfigKey("registry")] public RegistrySettings? Registry { get; set; }
    [ConfigKey("docker")] public DockerSettings? Docker { get; set; }
    [ConfigKey("kubernetes")] public KubernetesSettings? Kubernetes { get; set; }
    [ConfigKey("portainer")] public PortainerSettings? Portainer { get; set; }
    [ConfigKey("swarm")] public SwarmSettings? Swarm { get; set; }
    [ConfigKey("image_policy")] public ImagePolicySettings? ImagePolicy { get; set; }
}

/// <summary>&lt;platform&gt;.daemon.image_policy: which images this platform's connectors may run (docs/image-trust.md).</summary>
[ConfigSection]
public sealed partial class ImagePolicySettings
{
    [ConfigKey("allow"), ConfigDoc("Fully-qualified repository patterns a connector image must match after the registry prefix (registry.example.com/opencti/*: * within one path segment, ** across segments); set: anything else is refused. Tags are resolved to the digest checked, and that digest runs.")] public List<string>? Allow { get; set; }
    [ConfigKey("cosign_public_keys"), ConfigDoc("Cosign public keys (ECDSA P-256; paths or PEM blocks); set: an image runs only with a valid cosign signature (sha256-<digest>.sig) by one of them, verified offline.")] public List<string>? CosignPublicKeys { get; set; }
}

[ConfigSection]
public sealed partial class RegistrySettings
{
    [ConfigKey("server"), ConfigDoc("Registry host[:port][/path] prefixed to images that name no registry.")] public string? Server { get; set; }
    [ConfigKey("username"), ConfigDoc("Registry user; needs password. Without server, the credentials are used for Docker Hub (with a warning).")] public string? Username { get; set; }
    [ConfigKey("password"), ConfigDoc("Registry password or token; needs username.")] public Secret? Password { get; set; }
    [ConfigKey("email"), ConfigDoc("Sent with the credentials where the API expects it.")] public string? Email { get; set; }
    [ConfigKey("token_ttl", Unit = "seconds"), ConfigDoc("Upper bound in seconds for caching registry bearer tokens.")] public int TokenTtl { get; set; } = 1800;
    [ConfigKey("retry_attempts"), ConfigDoc("Retries of transient registry failures.")] public int RetryAttempts { get; set; } = 3;
    [ConfigKey("retry_delay", Unit = "seconds"), ConfigDoc("Seconds between retries (jittered).")] public int RetryDelay { get; set; } = 5;
    [ConfigKey("docker_config"), ConfigDoc("Docker CLI config.json giving the credentials of every other registry (auths, credHelpers, credsStore), re-read every token_ttl. Unset: $DOCKER_CONFIG/config.json, else ~/.docker/config.json. The registry block's own credentials keep precedence for its server.")] public string? DockerConfig { get; set; }
}

[ConfigSection]
public sealed partial class UlimitSettings
{
    [ConfigKey("name")] public string? Name { get; set; }
    [ConfigKey("soft")] public long? Soft { get; set; }
    [ConfigKey("hard")] public long? Hard { get; set; }
}

[ConfigSection]
public sealed partial class DockerSettings
{
    [ConfigKey("host"), ConfigDoc("Docker Engine API endpoint: unix:///path, tcp://host:port, http://host:port or https://host:port. Unset: DOCKER_HOST, else unix:///var/run/docker.sock. TCP endpoints follow the proxy settings; read from opencti.daemon.docker for both platforms, like the other docker options.")] public string? Host { get; set; }
    [ConfigKey("network_mode"), ConfigDoc("HostConfig.NetworkMode of connector containers.")] public string? NetworkMode { get; set; }
    [ConfigKey("extra_hosts"), ConfigDoc("host:ip entries added to /etc/hosts.")] public List<string>? ExtraHosts { get; set; }
    [ConfigKey("dns")] public List<string>? Dns { get; set; }
    [ConfigKey("dns_search")] public List<string>? DnsSearch { get; set; }
    [ConfigKey("privileged")] public bool? Privileged { get; set; }
    [ConfigKey("cap_add")] public List<string>? CapAdd { get; set; }
    [ConfigKey("cap_drop")] public List<string>? CapDrop { get; set; }
    [ConfigKey("security_opt")] public List<string>? SecurityOpt { get; set; }
    [ConfigKey("userns_mode")] public string? UsernsMode { get; set; }
    [ConfigKey("pid_mode")] public string? PidMode { get; set; }
    [ConfigKey("ipc_mode")] public string? IpcMode { get; set; }
    [ConfigKey("uts_mode")] public string? UtsMode { get; set; }
    [ConfigKey("runtime")] public string? Runtime { get; set; }
    [ConfigKey("shm_size", Unit = "bytes")] public long? ShmSize { get; set; }
    [ConfigKey("sysctls"), ConfigDoc("Kernel parameters (name → value).")] public Dictionary<string, string>? Sysctls { get; set; }
    [ConfigKey("ulimits"), ConfigDoc("Each item: name, soft, hard.")] public List<UlimitSettings>? Ulimits { get; set; }
    [ConfigKey("tls")] public DockerTlsSettings? Tls { get; set; }
    [ConfigKey("log_driver"), ConfigDoc("Log driver of connector containers (docker run --log-driver). Unset, with log_opts unset too: the engine's default driver, and when that is json-file or local, max-size 10m and max-file 3 so that a connector's logs cannot fill the disk.")] public string? LogDriver { get; set; }
    [ConfigKey("log_opts"), ConfigDoc("Options of the log driver (docker run --log-opt), given as they are, e.g. max-size: 50m, max-file: \"5\". Set (or log_driver set): replaces Composer's default bound.")] public Dictionary<string, string>? LogOpts { get; set; }
}

/// <summary>opencti.daemon.docker.tls: the docker CLI's --tlsverify, --tlscacert, --tlscert and --tlskey, as keys.</summary>
[ConfigSection]
public sealed partial class DockerTlsSettings
{
    [ConfigKey("verify"), ConfigDoc("TLS to a tcp:// engine (docker --tlsverify): true verifies its certificate against ca, false does not verify it at all (warned). Unset: DOCKER_TLS_VERIFY (any non-empty value: verify), else DOCKER_TLS (TLS without verification), else true when ca, cert or key is set.")] public bool? Verify { get; set; }
    [ConfigKey("ca"), ConfigDoc("CA certificates (paths or PEM blocks) the engine's certificate must chain to: only these, not the system roots (docker --tlscacert). Unset: ca.pem in DOCKER_CERT_PATH.")] public List<string>? Ca { get; set; }
    [ConfigKey("cert"), ConfigDoc("Client certificate presented to the engine (a path or a PEM block; docker --tlscert); needs key. Unset: cert.pem in DOCKER_CERT_PATH, when it exists.")] public string? Cert { get; set; }
    [ConfigKey("key"), ConfigDoc("Unencrypted private key of cert (a path or a PEM block; docker --tlskey); needs cert. Unset: key.pem in DOCKER_CERT_PATH.")] public Secret? Key { get; set; }
}

[ConfigSection]
public sealed partial class KubernetesSettings
{
    [ConfigKey("base_deployment"), RawJson, ConfigDoc("apps/v1 Deployment merged under the generated one (camelCase keys as in Kubernetes).")] public string? BaseDeployment { get; set; }
    [ConfigKey("base_deployment_json"), ConfigDoc("JSON text of an apps/v1 Deployment, used when base_deployment is absent.")] public string? BaseDeploymentJson { get; set; }
    [ConfigKey("image_pull_policy"), ConfigDoc("Always, IfNotPresent or Never.")] public string ImagePullPolicy { get; set; } = "IfNotPresent";
    [ConfigKey("image_resources"), RawJson, ConfigDoc("ResourceRequirements (limits, requests) of connector containers.")] public string? ImageResources { get; set; }
    [ConfigKey("namespace"), ConfigDoc("Namespace of the deployments and secrets Composer creates. Unset: the kubeconfig context's namespace, else the pod's namespace (in-cluster), else default.")] public string? Namespace { get; set; }
    [ConfigKey("context"), ConfigDoc("kubeconfig context to use instead of current-context (kubeconfig from KUBECONFIG, else ~/.kube/config; in-cluster service account when there is none).")] public string? Context { get; set; }
    [ConfigKey("image_pull_secrets"), ConfigDoc("Existing kubernetes.io/dockerconfigjson secrets referenced by connector pods. When set, Composer creates no pull secret of its own (the registry credentials then serve the pre-flight only).")] public List<string>? ImagePullSecrets { get; set; }
}

[ConfigSection]
public sealed partial class PortainerSettings
{
    [ConfigKey("api"), ConfigDoc("Absolute http(s) URL of the Portainer API.")] public string Api { get; set; } = "https://host.docker.internal:9443";
    [ConfigKey("api_key"), ConfigDoc("Portainer API key (X-API-Key).")] public Secret ApiKey { get; set; } = Secret.Placeholder("ChangeMe");
    [ConfigKey("env_id"), ConfigDoc("Portainer environment (endpoint) id.")] public string EnvId { get; set; } = "3";
    [ConfigKey("env_type"), ConfigDoc("Only docker is supported.")] public string EnvType { get; set; } = "docker";
    [ConfigKey("api_version"), ConfigDoc("Docker Engine API version used through Portainer (vMAJOR.MINOR); the engine behind it must speak it (Docker 20.10: v1.41).")] public string ApiVersion { get; set; } = "v1.44";
    [ConfigKey("stack"), ConfigDoc("Sets the com.docker.compose.project label.")] public string? Stack { get; set; }
    [ConfigKey("network_mode"), ConfigDoc("Network of the connector containers.")] public string? NetworkMode { get; set; }
    [ConfigKey("ca"), ConfigDoc("CA certificates (paths or PEM blocks) trusted for Portainer's HTTPS certificate, added to the system roots.")] public List<string>? Ca { get; set; }
    [ConfigKey("insecure_skip_verify"), ConfigDoc("true accepts any certificate from Portainer (warned at start); prefer ca.")] public bool InsecureSkipVerify { get; set; }
    [ConfigKey("log_driver"), ConfigDoc("Log driver of connector containers. Unset, with log_opts unset too: the engine's default driver, and when that is json-file or local, max-size 10m and max-file 3.")] public string? LogDriver { get; set; }
    [ConfigKey("log_opts"), ConfigDoc("Options of the log driver, given as they are. Set (or log_driver set): replaces Composer's default bound.")] public Dictionary<string, string>? LogOpts { get; set; }
}

[ConfigSection]
public sealed partial class SwarmResourcesSettings
{
    [ConfigKey("cpu_limit", Unit = "nano-CPUs")] public long? CpuLimit { get; set; }
    [ConfigKey("memory_limit", Unit = "bytes")] public long? MemoryLimit { get; set; }
    [ConfigKey("cpu_reservation", Unit = "nano-CPUs")] public long? CpuReservation { get; set; }
    [ConfigKey("memory_reservation", Unit = "bytes")] public long? MemoryReservation { get; set; }
}

[ConfigSection]
public sealed partial class SwarmSettings
{
    [ConfigKey("network"), ConfigDoc("Network attached to connector services.")] public string? Network { get; set; }
    [ConfigKey("extra_hosts")] public List<string>? ExtraHosts { get; set; }
    [ConfigKey("dns")] public List<string>? Dns { get; set; }
    [ConfigKey("dns_search")] public List<string>? DnsSearch { get; set; }
    [ConfigKey("cap_add")] public List<string>? CapAdd { get; set; }
    [ConfigKey("cap_drop")] public List<string>? CapDrop { get; set; }
    [ConfigKey("sysctls"), ConfigDoc("Kernel parameters (name → value).")] public Dictionary<string, string>? Sysctls { get; set; }
    [ConfigKey("ulimits"), ConfigDoc("Each item: name, soft, hard.")] public List<UlimitSettings>? Ulimits { get; set; }
    [ConfigKey("hostname")] public string? Hostname { get; set; }
    [ConfigKey("user")] public string? User { get; set; }
    [ConfigKey("read_only")] public bool? ReadOnly { get; set; }
    [ConfigKey("init")] public bool? Init { get; set; }
    [ConfigKey("stop_grace_period", Unit = "nanoseconds")] public long? StopGracePeriod { get; set; }
    [ConfigKey("resources")] public SwarmResourcesSettings? Resources { get; set; }
    [ConfigKey("placement_constraints")] public List<string>? PlacementConstraints { get; set; }
    [ConfigKey("placement_preferences")] public List<string>? PlacementPreferences { get; set; }
    [ConfigKey("restart_condition"), ConfigDoc("none, on-failure or any.")] public string? RestartCondition { get; set; }
    [ConfigKey("restart_delay", Unit = "nanoseconds")] public long? RestartDelay { get; set; }
    [ConfigKey("restart_max_attempts")] public long? RestartMaxAttempts { get; set; }
    [ConfigKey("log_driver"), ConfigDoc("Log driver of the service's tasks (docker service create --log-driver). Unset, with log_opts unset too: the engine's default driver, and when that is json-file or local, max-size 10m and max-file 3.")] public string? LogDriver { get; set; }
    [ConfigKey("log_opts"), ConfigDoc("Options of the tasks' log driver, given as they are. Set (or log_driver set): replaces Composer's default bound.")] public Dictionary<string, string>? LogOpts { get; set; }
}
