using System.Globalization;
using System.Net;
using Composer.Configuration;
using Composer.Images;
using Composer.Network;
using Composer.Orchestration;
using Composer.Orchestration.Docker;
using Composer.Orchestration.Kubernetes;
using Composer.Orchestration.Portainer;
using Composer.Orchestration.Swarm;
using Composer.Platform;
using Composer.Reconciliation;

namespace Composer.Resolution;

/// <summary>
/// The resolve step: turns bound settings into <see cref="ResolvedSettings"/>, the only reader of the raw settings. This
/// is where files named by the configuration are read (each once: the manager key, CA bundles, the kubeconfig) and
/// where every rule is decided, the orchestrators' by the parsers that live with the records they produce
/// (<see cref="DockerContainerOptions"/>, <see cref="SwarmServiceOptions"/>, <see cref="ResolvedKubernetes"/>,
/// <see cref="ResolvedPortainer"/>), so every problem is reported at load with its key and source, and consumers never
/// derive anything again.
/// </summary>
public static class SettingsResolver
{
    /// <summary>
    /// Resolves <paramref name="settings"/>; problems are added to <paramref name="errors"/> and
    /// <paramref name="warnings"/>. The result is meant to be used only when no error was added.
    /// </summary>
    /// <param name="requireManagerKey">Whether a missing manager key is an error when a platform is enabled (commands that
    /// never talk to a platform do not need it; a key that is configured is loaded and checked anyway).</param>
    /// <param name="resolveOrchestrators">Whether each enabled platform's orchestrator is resolved: its kubeconfig or
    /// service account read, its Portainer block completed (<see cref="ConfigLoadRequest.ResolveOrchestrators"/>).</param>
    public static ResolvedSettings Resolve(ComposerSettings settings, ConfigProvenance provenance, IReadOnlyDictionary<string, string> environment,
        List<ConfigDiagnostic> errors, List<ConfigDiagnostic> warnings, bool requireManagerKey = true, bool resolveOrchestrators = false)
    {
        var report = new ConfigReport(provenance, errors, warnings);
        ConfigValidator.Validate(settings, report);
        var key = LoadManagerKey(settings, report, requireManagerKey);

        // Every CA list is read now, used or not, so that a broken one is reported before it is needed.
        var certificates = new CertificateLoader();
        certificates.Load("https_proxy_ca", settings.HttpsProxyCa);
        certificates.Load("opencti.https_proxy_ca", settings.OpenCti.HttpsProxyCa);
        certificates.Load("openaev.https_proxy_ca", settings.OpenAev.HttpsProxyCa);
        certificates.Load(PlatformNetworkPolicy.ServerCaKey, settings.App.HttpsCert.Ca);
        certificates.Load(PortainerCaKey(PlatformKind.OpenCti), settings.OpenCti.Daemon.Portainer?.Ca);
        certificates.Load(PortainerCaKey(PlatformKind.OpenAev), settings.OpenAev.Daemon.Portainer?.Ca);
        foreach (var problem in certificates.Errors) errors.Add(CertificateDiagnostic(problem, provenance));

        var registry = RegistryConfiguration.FromSettings(settings.OpenCti.Daemon.Registry, provenance, environment, report) ?? RegistryConfiguration.Anonymous;
        if (settings.OpenAev.Daemon.Registry is not null)
        {
            warnings.Add(new ConfigDiagnostic("openaev.daemon.registry", provenance.Describe("openaev.daemon.registry.server"),
                "ignored: the registry is global and read from opencti.daemon.registry, for both platforms (as the Rust version does)"));
        }

        var docker = DockerEndpoint.Resolve(settings, provenance, environment);
        var dockerUsed = new[] { settings.OpenCti, settings.OpenAev }.Any(p => p.Enable && p.Daemon.Selector is "docker" or "swarm");
        foreach (var dockerError in docker.Errors)
        {
            // An invalid opencti.daemon.docker.host is the docker block's (DockerContainerOptions); the tls keys are reported
            // like every other file the configuration names; DOCKER_* variables matter only when Docker is used (else `docker check` says).
            if (dockerError.Key == DockerEndpoint.ConfigKey) continue;
            if (dockerUsed || dockerError.Key.StartsWith("opencti.", StringComparison.Ordinal)) errors.Add(dockerError);
        }
        if (dockerUsed) warnings.AddRange(docker.Warnings);
        if (settings.OpenAev.Daemon.Docker?.Tls is not null)
        {
            var where = new[] { "verify", "ca", "cert", "key" }.Select(k => provenance.Describe($"openaev.daemon.docker.tls.{k}")).FirstOrDefault(d => d != "default");
            warnings.Add(new ConfigDiagnostic("openaev.daemon.docker.tls", where ?? "configuration",
                $"ignored: the Docker engine is global and its TLS is read from {DockerTls.VerifyKey[..^".verify".Length]}, for both platforms"));
        }
        // The docker options are global, read from opencti.daemon.docker for both platforms (as upstream); openaev's block is checked all the same.
        var containers = DockerContainerOptions.Parse(settings.OpenCti.Daemon.Docker, "opencti.daemon.docker", report);
        DockerContainerOptions.Parse(settings.OpenAev.Daemon.Docker, "openaev.daemon.docker", report);
        var daemons = new Daemons(docker, containers, environment, resolveOrchestrators);

        var openCti = ResolvePlatform(settings, PlatformKind.OpenCti, certificates, daemons, report);
        var openAev = ResolvePlatform(settings, PlatformKind.OpenAev, certificates, daemons, report);

        environment.TryGetValue("KUBERNETES_SERVICE_HOST", out var kubernetesServiceHost);
        var m = settings.Manager;
        return new ResolvedSettings
        {
            Key = key,
            Manager = new ManagerOptions(m.Id, m.Name, TimeSpan.FromSeconds(Math.Max(1, m.ExecuteSchedule)),
                TimeSpan.FromSeconds(Math.Max(1, m.PingAliveSchedule)), Math.Max(1, m.MaxParallel), m.Debug.ShowEnvVars, m.Debug.ShowSensitiveEnvVars,
                TimeSpan.FromSeconds(Math.Max(1, m.HealthSchedule)), m.RebootLoop.Stop,
                TimeSpan.FromSeconds(Math.Max(1, m.ConnectorDeadline)))
            {
                Logs = new LogLimits(m.Logs.MaxLines, m.Logs.MaxBytes, m.Logs.MaxLineBytes),
            },
            Logger = LoggerSetup.Resolve(m.Logger, report),
            Health = ResolveHealth(m.Health, provenance, errors),
            Registry = registry,
            Docker = docker,
            KubernetesServiceHost = string.IsNullOrWhiteSpace(kubernetesServiceHost) ? null : kubernetesServiceHost.Trim(),
            OpenCti = openCti,
            OpenAev = openAev,
            Workloads = new WorkloadContext(m.Id,
                openCti.Enabled ? openCti.Url : null,
                openAev.Enabled ? openAev.Url : null,
                openCti.ConnectorNetwork,
                openAev.ConnectorNetwork),
        };
    }

    /// <summary>The manager key (read once, here), when a platform is enabled; the rule is ManagerKey's.</summary>
    private static ManagerKey? LoadManagerKey(ComposerSettings settings, ConfigReport report, bool required)
    {
        var because = settings.OpenCti.Enable ? "opencti.enable" : settings.OpenAev.Enable ? "openaev.enable" : null;
        return because is null ? null : ManagerKey.Load(settings.Manager, report, required ? because : null);
    }

    /// <summary>What the platforms' orchestrators share: the Docker engine and container options (global, as upstream), the environment.</summary>
    private sealed record Daemons(DockerEndpointResolution Docker, DockerContainerOptions Containers, IReadOnlyDictionary<string, string> Environment,
        bool Resolve);

    private static ResolvedPlatform ResolvePlatform(ComposerSettings settings, PlatformKind kind, CertificateLoader certificates, Daemons daemons,
        ConfigReport report)
    {
        var p = kind == PlatformKind.OpenCti ? settings.OpenCti : settings.OpenAev;
        var network = PlatformNetworkPolicy.Resolve(settings, kind, certificates);
        var selector = OrchestratorKinds.Parse(p.Daemon.Selector);
        return new ResolvedPlatform
        {
            Kind = kind,
            Enabled = p.Enable,
            Url = p.Url,
            Token = p.Token,
            Selector = selector ?? OrchestratorKind.Kubernetes,
            Orchestrator = ResolveOrchestrator(p, kind, selector, certificates, daemons, report),
            LogsSchedule = TimeSpan.FromSeconds(Math.Max(1, p.LogsSchedule)),
            ImagePolicy = ImagePolicy.Parse(p.Daemon.ImagePolicy, $"{(kind == PlatformKind.OpenCti ? "opencti" : "openaev")}.daemon.image_policy", report),
            ListingTimeout = TimeSpan.FromSeconds(Math.Max(1, p.ListingTimeout)),
            ListingMaxSize = Math.Max(ConfigValidator.MinListingMaxSize, p.ListingMaxSize),
            Network = network,
            // Computed once (it reads the system roots when a proxy CA is configured), only for platforms in use.
            ConnectorNetwork = p.Enable ? ConnectorNetworkEnvironment.Compute(network) : ConnectorNetworkEnvironment.None,
        };
    }

    /// <summary>
    /// The platform's daemon: every option block present is checked (used or not, as a configuration is checked), the
    /// selected one is resolved into its record when the platform is enabled and the command talks to orchestrators.
    /// </summary>
    private static ResolvedOrchestrator? ResolveOrchestrator(PlatformSettings platform, PlatformKind kind, OrchestratorKind? selector,
        CertificateLoader certificates, Daemons daemons, ConfigReport report)
    {
        var section = kind == PlatformKind.OpenCti ? "opencti" : "openaev";
        var daemon = platform.Daemon;
        if (selector is null)
        {
            report.Error($"{section}.daemon.selector", $"expected one of kubernetes, docker, swarm, portainer, got \"{daemon.Selector}\"");
        }
        else if (selector == OrchestratorKind.Swarm && daemon.Swarm is null)
        {
            report.Error($"{section}.daemon.selector", $"selector is swarm but {section}.daemon.swarm is missing; add a swarm block (\"swarm: {{}}\" keeps the defaults)");
        }
        else if (selector == OrchestratorKind.Portainer && daemon.Portainer is null)
        {
            report.Error($"{section}.daemon.selector", $"selector is portainer but {section}.daemon.portainer is missing: it needs api, api_key, env_id and api_version");
        }
        var used = platform.Enable && daemons.Resolve ? selector : null;
        var swarm = daemon.Swarm is { } swarmBlock ? SwarmServiceOptions.Parse(swarmBlock, $"{section}.daemon.swarm", report) : null;
        var kubernetes = ResolvedKubernetes.Parse(daemon.Kubernetes, kind, used == OrchestratorKind.Kubernetes, daemons.Environment, report);
        var portainer = ResolvedPortainer.Parse(daemon.Portainer, kind, certificates.Load(PortainerCaKey(kind), daemon.Portainer?.Ca),
            used == OrchestratorKind.Portainer, report);
        return used switch
        {
            OrchestratorKind.Docker when daemons.Docker.Endpoint is { } endpoint => new ResolvedDocker(kind, endpoint, daemons.Containers),
            OrchestratorKind.Swarm when daemons.Docker.Endpoint is { } endpoint && swarm is not null => new ResolvedSwarm(kind, endpoint, swarm),
            OrchestratorKind.Kubernetes => kubernetes,
            OrchestratorKind.Portainer => portainer,
            _ => null,
        };
    }

    private static string PortainerCaKey(PlatformKind kind) => (kind == PlatformKind.OpenCti ? "opencti" : "openaev") + ".daemon.portainer.ca";

    /// <summary>manager.health.listen: host:port, [IPv6]:port, or a bare port (127.0.0.1 then).</summary>
    private static HealthListenerOptions ResolveHealth(HealthSettings health, ConfigProvenance provenance, List<ConfigDiagnostic> errors)
    {
        const string key = "manager.health.listen";
        var text = (health.Listen ?? "").Trim();
        string host = "127.0.0.1";
        string portText = text;
        var colon = text.LastIndexOf(':');
        if (colon >= 0)
        {
            host = text[..colon].Trim('[', ']');
            portText = text[(colon + 1)..];
        }
        var valid = int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is >= 1 and <= 65535
            && (host is "localhost" or "*" or "+" || IPAddress.TryParse(host, out _));
        if (!valid)
        {
            if (health.Enable)
            {
                errors.Add(new ConfigDiagnostic(key, provenance.Describe(key),
                    $"expected address:port such as 127.0.0.1:8080 or 0.0.0.0:8080 (an IP address, localhost, or [IPv6]), got \"{text}\""));
            }
            return new HealthListenerOptions(false, "127.0.0.1", 8080);
        }
        return new HealthListenerOptions(health.Enable, host, port);
    }

    /// <summary>A CA loader problem in the validator's form: "&lt;key&gt;: entry N (file …): message (source of the key)".</summary>
    private static ConfigDiagnostic CertificateDiagnostic(ConfigDiagnostic problem, ConfigProvenance provenance)
    {
        var bracket = problem.Key.LastIndexOf('[');
        var key = bracket > 0 ? problem.Key[..bracket] : problem.Key;
        var index = bracket > 0 ? problem.Key[(bracket + 1)..^1] : "?";
        return new ConfigDiagnostic(key, provenance.Describe(key), $"entry {index} ({problem.Source}): {problem.Message}");
    }
}
