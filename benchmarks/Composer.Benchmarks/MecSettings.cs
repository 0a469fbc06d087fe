using Microsoft.Extensions.Configuration;

namespace Composer.Benchmarks;

// The same schema for Microsoft.Extensions.Configuration's binder (snake_case keys through ConfigurationKeyName).
// base_deployment / image_resources are nested objects the binder cannot keep as JSON text; they are bound as
// string maps of their top level only, so the baseline does strictly less work than Composer's binder here.
#pragma warning disable CA1002, CA2227

public sealed class MecSettings
{
    [ConfigurationKeyName("manager")] public MecManager Manager { get; set; } = new();
    [ConfigurationKeyName("opencti")] public MecPlatform OpenCti { get; set; } = new();
    [ConfigurationKeyName("openaev")] public MecPlatform OpenAev { get; set; } = new();
    [ConfigurationKeyName("http_proxy")] public string? HttpProxy { get; set; }
    [ConfigurationKeyName("https_proxy")] public string? HttpsProxy { get; set; }
    [ConfigurationKeyName("no_proxy")] public string? NoProxy { get; set; }
    [ConfigurationKeyName("https_proxy_ca")] public List<string>? HttpsProxyCa { get; set; }
    [ConfigurationKeyName("https_proxy_reject_unauthorized")] public bool? HttpsProxyRejectUnauthorized { get; set; }
    [ConfigurationKeyName("app")] public MecApp App { get; set; } = new();
}

public sealed class MecApp
{
    [ConfigurationKeyName("https_cert")] public MecHttpsCert HttpsCert { get; set; } = new();
}

public sealed class MecHttpsCert
{
    [ConfigurationKeyName("ca")] public List<string>? Ca { get; set; }
    [ConfigurationKeyName("reject_unauthorized")] public bool? RejectUnauthorized { get; set; }
}

public sealed class MecManager
{
    [ConfigurationKeyName("id")] public string Id { get; set; } = "default-manager-id";
    [ConfigurationKeyName("name")] public string Name { get; set; } = "Filigran connector manager";
    [ConfigurationKeyName("execute_schedule")] public int ExecuteSchedule { get; set; } = 10;
    [ConfigurationKeyName("ping_alive_schedule")] public int PingAliveSchedule { get; set; } = 60;
    [ConfigurationKeyName("credentials_key")] public string? CredentialsKey { get; set; }
    [ConfigurationKeyName("credentials_key_filepath")] public string? CredentialsKeyFilepath { get; set; }
    [ConfigurationKeyName("logger")] public MecLogger Logger { get; set; } = new();
    [ConfigurationKeyName("debug")] public MecDebug Debug { get; set; } = new();
}

public sealed class MecLogger
{
    [ConfigurationKeyName("level")] public string Level { get; set; } = "info";
    [ConfigurationKeyName("format")] public string Format { get; set; } = "json";
    [ConfigurationKeyName("console")] public bool Console { get; set; } = true;
    [ConfigurationKeyName("directory")] public string? Directory { get; set; }
}

public sealed class MecDebug
{
    [ConfigurationKeyName("show_env_vars")] public bool ShowEnvVars { get; set; }
    [ConfigurationKeyName("show_sensitive_env_vars")] public bool ShowSensitiveEnvVars { get; set; }
}

public sealed class MecPlatform
{
    [ConfigurationKeyName("enable")] public bool Enable { get; set; }
    [ConfigurationKeyName("url")] public string Url { get; set; } = "";
    [ConfigurationKeyName("token")] public string Token { get; set; } = "";
    [ConfigurationKeyName("unsecured_certificate")] public bool UnsecuredCertificate { get; set; }
    [ConfigurationKeyName("with_proxy")] public bool WithProxy { get; set; }
    [ConfigurationKeyName("http_proxy")] public string? HttpProxy { get; set; }
    [ConfigurationKeyName("https_proxy")] public string? HttpsProxy { get; set; }
    [ConfigurationKeyName("no_proxy")] public string? NoProxy { get; set; }
    [ConfigurationKeyName("https_proxy_ca")] public List<string>? HttpsProxyCa { get; set; }
    [ConfigurationKeyName("https_proxy_reject_unauthorized")] public bool? HttpsProxyRejectUnauthorized { get; set; }
    [ConfigurationKeyName("logs_schedule")] public int LogsSchedule { get; set; }
    [ConfigurationKeyName("request_timeout")] public int RequestTimeout { get; set; }
    [ConfigurationKeyName("connect_timeout")] public int ConnectTimeout { get; set; }
    [ConfigurationKeyName("daemon")] public MecDaemon Daemon { get; set; } = new();
}

public sealed class MecDaemon
{
    [ConfigurationKeyName("selector")] public string Selector { get; set; } = "kubernetes";
    [ConfigurationKeyName("registry")] public MecRegistry? Registry { get; set; }
    [ConfigurationKeyName("docker")] public MecDocker? Docker { get; set; }
    [ConfigurationKeyName("kubernetes")] public MecKubernetes? Kubernetes { get; set; }
    [ConfigurationKeyName("portainer")] public MecPortainer? Portainer { get; set; }
    [ConfigurationKeyName("swarm")] public MecSwarm? Swarm { get; set; }
}

public sealed class MecRegistry
{
    [ConfigurationKeyName("server")] public string? Server { get; set; }
    [ConfigurationKeyName("username")] public string? Username { get; set; }
    [ConfigurationKeyName("password")] public string? Password { get; set; }
    [ConfigurationKeyName("email")] public string? Email { get; set; }
    [ConfigurationKeyName("token_ttl")] public int TokenTtl { get; set; } = 1800;
    [ConfigurationKeyName("retry_attempts")] public int RetryAttempts { get; set; } = 3;
    [ConfigurationKeyName("retry_delay")] public int RetryDelay { get; set; } = 5;
}

public sealed class MecUlimit
{
    [ConfigurationKeyName("name")] public string? Name { get; set; }
    [ConfigurationKeyName("soft")] public long? Soft { get; set; }
    [ConfigurationKeyName("hard")] public long? Hard { get; set; }
}

public sealed class MecDocker
{
    [ConfigurationKeyName("network_mode")] public string? NetworkMode { get; set; }
    [ConfigurationKeyName("extra_hosts")] public List<string>? ExtraHosts { get; set; }
    [ConfigurationKeyName("dns")] public List<string>? Dns { get; set; }
    [ConfigurationKeyName("dns_search")] public List<string>? DnsSearch { get; set; }
    [ConfigurationKeyName("privileged")] public bool? Privileged { get; set; }
    [ConfigurationKeyName("cap_add")] public List<string>? CapAdd { get; set; }
    [ConfigurationKeyName("cap_drop")] public List<string>? CapDrop { get; set; }
    [ConfigurationKeyName("security_opt")] public List<string>? SecurityOpt { get; set; }
    [ConfigurationKeyName("userns_mode")] public string? UsernsMode { get; set; }
    [ConfigurationKeyName("pid_mode")] public string? PidMode { get; set; }
    [ConfigurationKeyName("ipc_mode")] public string? IpcMode { get; set; }
    [ConfigurationKeyName("uts_mode")] public string? UtsMode { get; set; }
    [ConfigurationKeyName("runtime")] public string? Runtime { get; set; }
    [ConfigurationKeyName("shm_size")] public long? ShmSize { get; set; }
    [ConfigurationKeyName("sysctls")] public Dictionary<string, string>? Sysctls { get; set; }
    [ConfigurationKeyName("ulimits")] public List<MecUlimit>? Ulimits { get; set; }
}

public sealed class MecKubernetes
{
    [ConfigurationKeyName("base_deployment")] public Dictionary<string, string>? BaseDeployment { get; set; }
    [ConfigurationKeyName("base_deployment_json")] public string? BaseDeploymentJson { get; set; }
    [ConfigurationKeyName("image_pull_policy")] public string ImagePullPolicy { get; set; } = "IfNotPresent";
    [ConfigurationKeyName("image_resources")] public Dictionary<string, string>? ImageResources { get; set; }
}

public sealed class MecPortainer
{
    [ConfigurationKeyName("api")] public string Api { get; set; } = "";
    [ConfigurationKeyName("api_key")] public string ApiKey { get; set; } = "";
    [ConfigurationKeyName("env_id")] public string EnvId { get; set; } = "";
    [ConfigurationKeyName("env_type")] public string EnvType { get; set; } = "";
    [ConfigurationKeyName("api_version")] public string ApiVersion { get; set; } = "";
    [ConfigurationKeyName("stack")] public string? Stack { get; set; }
    [ConfigurationKeyName("network_mode")] public string? NetworkMode { get; set; }
}

public sealed class MecSwarmResources
{
    [ConfigurationKeyName("cpu_limit")] public long? CpuLimit { get; set; }
    [ConfigurationKeyName("memory_limit")] public long? MemoryLimit { get; set; }
    [ConfigurationKeyName("cpu_reservation")] public long? CpuReservation { get; set; }
    [ConfigurationKeyName("memory_reservation")] public long? MemoryReservation { get; set; }
}

public sealed class MecSwarm
{
    [ConfigurationKeyName("network")] public string? Network { get; set; }
    [ConfigurationKeyName("extra_hosts")] public List<string>? ExtraHosts { get; set; }
    [ConfigurationKeyName("dns")] public List<string>? Dns { get; set; }
    [ConfigurationKeyName("dns_search")] public List<string>? DnsSearch { get; set; }
    [ConfigurationKeyName("cap_add")] public List<string>? CapAdd { get; set; }
    [ConfigurationKeyName("cap_drop")] public List<string>? CapDrop { get; set; }
    [ConfigurationKeyName("sysctls")] public Dictionary<string, string>? Sysctls { get; set; }
    [ConfigurationKeyName("ulimits")] public List<MecUlimit>? Ulimits { get; set; }
    [ConfigurationKeyName("hostname")] public string? Hostname { get; set; }
    [ConfigurationKeyName("user")] public string? User { get; set; }
    [ConfigurationKeyName("read_only")] public bool? ReadOnly { get; set; }
    [ConfigurationKeyName("init")] public bool? Init { get; set; }
    [ConfigurationKeyName("stop_grace_period")] public long? StopGracePeriod { get; set; }
    [ConfigurationKeyName("resources")] public MecSwarmResources? Resources { get; set; }
    [ConfigurationKeyName("placement_constraints")] public List<string>? PlacementConstraints { get; set; }
    [ConfigurationKeyName("placement_preferences")] public List<string>? PlacementPreferences { get; set; }
    [ConfigurationKeyName("restart_condition")] public string? RestartCondition { get; set; }
    [ConfigurationKeyName("restart_delay")] public long? RestartDelay { get; set; }
    [ConfigurationKeyName("restart_max_attempts")] public long? RestartMaxAttempts { get; set; }
}
