using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Composer.Configuration;
using Composer.Diagnostics;
using Composer.Network;
using Composer.Orchestration.Docker;
using Composer.Orchestration.Kubernetes;
using Composer.Orchestration.Portainer;
using Composer.Orchestration.Swarm;

namespace Composer.Resolution;

/// <summary>
/// Cross-field and semantic rules that need no file, run after binding (the rest of the resolve step, SettingsResolver,
/// checks what needs files: the manager key, CA bundles; and owns the registry rules through RegistryConfiguration). Every problem is collected with its key and the source of
/// the offending value; nothing is printed that could be a secret.
/// </summary>
public static class ConfigValidator
{
    private static readonly string[] Selectors = ["kubernetes", "docker", "swarm", "portainer"];
    private static readonly string[] PullPolicies = ["Always", "IfNotPresent", "Never"];
    private static readonly string[] LogLevels = ["trace", "debug", "info", "warn", "error"];
    private static readonly string[] LogFormats = ["json", "pretty"];
    private static readonly string[] RestartConditions = ["none", "on-failure", "any"];

    /// <summary>manager.health_schedule's upper bound: a report every 4 minutes reaches the platform before it forgets the last one (5 minutes).</summary>
    public const int MaxHealthSchedule = 240;

    public static void Validate(ComposerSettings s, ConfigProvenance provenance, List<ConfigDiagnostic> errors, List<ConfigDiagnostic> warnings)
    {
        var v = new Checker(provenance, errors, warnings);

        var m = s.Manager;
        v.Positive("manager.execute_schedule", m.ExecuteSchedule);
        v.Positive("manager.ping_alive_schedule", m.PingAliveSchedule);
        v.Positive("manager.max_parallel", m.MaxParallel);
        v.Positive("manager.health_schedule", m.HealthSchedule);
        v.Positive("manager.connector_deadline", m.ConnectorDeadline);
        if (m.HealthSchedule > MaxHealthSchedule)
        {
            v.Error("manager.health_schedule", $"expected at most {MaxHealthSchedule} seconds (the platform forgets a connector's health 300 seconds after its last report), got {m.HealthSchedule}");
        }
        if (!LogLevels.Contains(m.Logger.Level.ToLowerInvariant()) && m.Logger.Level is not ("1" or "2" or "3" or "4" or "5"))
        {
            v.Error("manager.logger.level", $"expected one of trace, debug, info, warn, error, got \"{m.Logger.Level}\"");
        }
        if (!LogFormats.Contains(m.Logger.Format.ToLowerInvariant()))
        {
            v.Error("manager.logger.format", $"expected json or pretty, got \"{m.Logger.Format}\"");
        }

        v.ProxyUrl("http_proxy", s.HttpProxy);
        v.ProxyUrl("https_proxy", s.HttpsProxy);

        CheckPlatform(v, "opencti", s.OpenCti);
        CheckPlatform(v, "openaev", s.OpenAev);
    }

    private static void CheckPlatform(Checker v, string p, PlatformSettings platform)
    {
        v.HttpUrl($"{p}.url", platform.Url);
        v.Positive($"{p}.logs_schedule", platform.LogsSchedule);
        v.Positive($"{p}.request_timeout", platform.RequestTimeout);
        v.Positive($"{p}.connect_timeout", platform.ConnectTimeout);
        v.ProxyUrl($"{p}.http_proxy", platform.HttpProxy);
        v.ProxyUrl($"{p}.https_proxy", platform.HttpsProxy);

        var d = platform.Daemon;
        if (!Selectors.Contains(d.Selector))
        {
            v.Error($"{p}.daemon.selector", $"expected one of kubernetes, docker, swarm, portainer, got \"{d.Selector}\"");
        }
        else if (d.Selector == "swarm" && d.Swarm is null)
        {
            v.Error($"{p}.daemon.selector", $"selector is swarm but {p}.daemon.swarm is missing; add a swarm block (\"swarm: {{}}\" keeps the defaults)");
        }
        else if (d.Selector == "portainer" && d.Portainer is null)
        {
            v.Error($"{p}.daemon.selector", $"selector is portainer but {p}.daemon.portainer is missing");
        }

        if (d.Kubernetes is { } k)
        {
            if (!PullPolicies.Contains(k.ImagePullPolicy))
            {
                v.Error($"{p}.daemon.kubernetes.image_pull_policy", $"expected Always, IfNotPresent or Never, got \"{k.ImagePullPolicy}\"");
            }
            var kp = $"{p}.daemon.kubernetes";
            if (v.JsonObject($"{kp}.base_deployment", k.BaseDeployment)) v.Problems($"{kp}.base_deployment", DeploymentBase.Problems(k.BaseDeployment!));
            if (v.JsonObject($"{kp}.base_deployment_json", k.BaseDeploymentJson))
            {
                if (k.BaseDeployment is not null) v.Warning($"{kp}.base_deployment_json", $"ignored: {kp}.base_deployment is set and is used instead");
                else v.Problems($"{kp}.base_deployment_json", DeploymentBase.Problems(k.BaseDeploymentJson!));
            }
            if (v.JsonObject($"{kp}.image_resources", k.ImageResources)) v.Problems($"{kp}.image_resources", DeploymentBase.ResourceProblems(k.ImageResources!));
            if (k.Namespace is { } ns && KubernetesNames.LabelProblem(ns.Trim()) is { } nsProblem)
            {
                v.Error($"{kp}.namespace", $"\"{ns}\" is not a namespace name: {nsProblem}");
            }
            if (k.ImagePullSecrets is { } pullSecrets)
            {
                foreach (var name in pullSecrets.Where(n => !KubernetesNames.IsSubdomain(n)))
                {
                    v.Error($"{kp}.image_pull_secrets", $"\"{name}\" is not a secret name (lowercase letters, digits, '-' and '.', at most 253 characters)");
                }
            }
        }

        if (d.Portainer is { } pt)
        {
            v.HttpUrl($"{p}.daemon.portainer.api", pt.Api);
            if (pt.EnvType != "docker") v.Error($"{p}.daemon.portainer.env_type", $"expected docker (the only supported Portainer environment type), got \"{pt.EnvType}\"");
            if (PortainerOrchestrator.ParseApiVersion(pt.ApiVersion) is null)
            {
                v.Error($"{p}.daemon.portainer.api_version", $"expected a Docker Engine API version such as v1.41, got \"{pt.ApiVersion}\"");
            }
        }

        if (d.Docker is { } dk)
        {
            v.Ulimits($"{p}.daemon.docker.ulimits", dk.Ulimits);
            if (DockerEndpoint.Validate(dk.Host) is { } hostProblem) v.Error($"{p}.daemon.docker.host", hostProblem);
            if (dk.ShmSize is < 0) v.Error($"{p}.daemon.docker.shm_size", $"expected a size in bytes >= 0, got {dk.ShmSize}");
        }

        if (d.Swarm is { } sw)
        {
            v.Ulimits($"{p}.daemon.swarm.ulimits", sw.Ulimits);
            foreach (var host in sw.ExtraHosts?.Where(h => SwarmServiceSpec.HostsEntry(h) is null) ?? [])
            {
                v.Error($"{p}.daemon.swarm.extra_hosts", $"expected host:ip (or \"ip host\"), got \"{host}\"");
            }
            if (sw.RestartCondition is { } rc && !RestartConditions.Contains(rc))
            {
                v.Error($"{p}.daemon.swarm.restart_condition", $"expected none, on-failure or any, got \"{rc}\"");
            }
            if (sw.StopGracePeriod is < 0) v.Error($"{p}.daemon.swarm.stop_grace_period", "expected a duration in nanoseconds >= 0");
            if (sw.RestartDelay is < 0) v.Error($"{p}.daemon.swarm.restart_delay", "expected a duration in nanoseconds >= 0");
            if (sw.RestartMaxAttempts is < 0) v.Error($"{p}.daemon.swarm.restart_max_attempts", "expected a number >= 0");
        }
    }

    /// <summary>The manager key, by the one rule of <see cref="Platform.ManagerKey.Load"/>; the key is only checked here, not kept.</summary>
    private sealed class Checker(ConfigProvenance provenance, List<ConfigDiagnostic> errors, List<ConfigDiagnostic> warnings)
    {
        public void Error(string path, string message) => errors.Add(new ConfigDiagnostic(path, provenance.Describe(path), message));

        public void Warning(string path, string message) => warnings.Add(new ConfigDiagnostic(path, provenance.Describe(path), message));

        public void Positive(string path, long value)
        {
            if (value <= 0) Error(path, $"expected a number greater than 0, got {value}");
        }

        public void NotNegative(string path, long value)
        {
            if (value < 0) Error(path, $"expected a number >= 0, got {value}");
        }

        public void HttpUrl(string path, string? value)
        {
            if (value is null) return;
            if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Host.Length == 0)
            {
                Error(path, $"expected an absolute http:// or https:// URL, got \"{SecretRedaction.RedactUrl(value)}\"");
            }
        }

        /// <summary>Proxy URLs may carry credentials: the value is shown redacted.</summary>
        /// <summary>One rule for proxy URLs: the network layer's parser (scheme optional, http/https/socks5, no path).</summary>
        public void ProxyUrl(string path, string? value)
        {
            if (string.IsNullOrWhiteSpace(value)) return;
            if (!ProxyEndpoint.TryParse(value, out _, out var problem))
            {
                Error(path, $"{problem}, got \"{SecretRedaction.RedactUrl(value)}\"");
            }
        }

        /// <summary>True when <paramref name="json"/> is set and is a JSON object (so that its content can be checked next).</summary>
        public bool JsonObject(string path, string? json)
        {
            if (json is null) return false;
            if (ScalarText.IsJsonObject(json, out var error)) return true;
            Error(path, $"expected a JSON object: {error}");
            return false;
        }

        public void Problems(string path, IReadOnlyList<string> problems)
        {
            foreach (var problem in problems) Error(path, problem);
        }

        public void Ulimits(string path, List<UlimitSettings>? ulimits)
        {
            if (ulimits is null) return;
            for (var i = 0; i < ulimits.Count; i++)
            {
                var u = ulimits[i];
                if (string.IsNullOrEmpty(u.Name) || u.Soft is null || u.Hard is null)
                {
                    Error(path, $"item {i} needs name, soft and hard");
                }
            }
        }

    }
}
