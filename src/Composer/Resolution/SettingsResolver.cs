using System.Globalization;
using System.Net;
using Composer.Configuration;
using Composer.Images;
using Composer.Network;
using Composer.Orchestration;
using Composer.Orchestration.Docker;
using Composer.Platform;

namespace Composer.Resolution;

/// <summary>
/// The resolve step: turns bound, validated settings into <see cref="ResolvedSettings"/>. This is where files named
/// by the configuration are read (each once: CA bundles) and where the rules that need them live, so every
/// problem is reported at load with its key and source, and consumers never derive anything again.
/// </summary>
public static class SettingsResolver
{
    /// <summary>
    /// Resolves <paramref name="settings"/>; problems are added to <paramref name="errors"/> and
    /// <paramref name="warnings"/>. The result is meant to be used only when no error was added.
    /// </summary>
    /// <param name="requireManagerKey">Whether a missing manager key is an error when a platform is enabled (commands that
    /// never talk to a platform do not need it; a key that is configured is loaded and checked anyway).</param>
    public static ResolvedSettings Resolve(ComposerSettings settings, ConfigProvenance provenance, IReadOnlyDictionary<string, string> environment,
        List<ConfigDiagnostic> errors, List<ConfigDiagnostic> warnings, bool requireManagerKey = true)
    {
        var key = LoadManagerKey(settings, provenance, errors, warnings, requireManagerKey);

        // Every CA list is read now, used or not, so that a broken one is reported before it is needed.
        var certificates = new CertificateLoader();
        certificates.Load("https_proxy_ca", settings.HttpsProxyCa);
        certificates.Load("opencti.https_proxy_ca", settings.OpenCti.HttpsProxyCa);
        certificates.Load("openaev.https_proxy_ca", settings.OpenAev.HttpsProxyCa);
        certificates.Load(PlatformNetworkPolicy.ServerCaKey, settings.App.HttpsCert.Ca);
        certificates.Load(PortainerCaKey(PlatformKind.OpenCti), settings.OpenCti.Daemon.Portainer?.Ca);
        certificates.Load(PortainerCaKey(PlatformKind.OpenAev), settings.OpenAev.Daemon.Portainer?.Ca);
        foreach (var problem in certificates.Errors) errors.Add(CertificateDiagnostic(problem, provenance));

        var registry = RegistryConfiguration.FromSettings(settings.OpenCti.Daemon.Registry, provenance, errors, warnings) ?? RegistryConfiguration.Anonymous;
        if (settings.OpenAev.Daemon.Registry is not null)
        {
            warnings.Add(new ConfigDiagnostic("openaev.daemon.registry", provenance.Describe("openaev.daemon.registry.server"),
                "ignored: the registry is global and read from opencti.daemon.registry, for both platforms (as the Rust version does)"));
        }
        var images = ImageResolver.TryCreate(settings.OpenCti.Daemon.Registry, out var resolver, out _) ? resolver : ImageResolver.NoRegistry;

        var openCti = ResolvePlatform(settings, PlatformKind.OpenCti, certificates);
        var openAev = ResolvePlatform(settings, PlatformKind.OpenAev, certificates);

        var docker = DockerEndpoint.Resolve(settings, provenance, environment);
        var dockerUsed = new[] { openCti, openAev }.Any(p => p.Enabled && p.Selector is "docker" or "swarm");
        foreach (var dockerError in docker.Errors)
        {
            // An invalid opencti.daemon.docker.host is the validator's; the tls keys are reported like every other
            // file the configuration names; DOCKER_* variables matter only when Docker is used (else `docker check` says).
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

        environment.TryGetValue("KUBERNETES_SERVICE_HOST", out var kubernetesServiceHost);
        var m = settings.Manager;
        return new ResolvedSettings
        {
            Settings = settings,
            Key = key,
            Manager = new ManagerOptions(m.Id, m.Name, TimeSpan.FromSeconds(Math.Max(1, m.ExecuteSchedule)),
                TimeSpan.FromSeconds(Math.Max(1, m.PingAliveSchedule)), Math.Max(1, m.MaxParallel), m.Debug.ShowEnvVars,
                TimeSpan.FromSeconds(Math.Max(1, m.HealthSchedule)), m.RebootLoop.Stop,
                TimeSpan.FromSeconds(Math.Max(1, m.ConnectorDeadline))),
            Logger = m.Logger,
            Health = ResolveHealth(m.Health, provenance, errors),
            Registry = registry,
            Images = images,
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

    /// <summary>The manager key (read once, here), when a platform is enabled or a key is configured; the rule is ManagerKey's.</summary>
    private static ManagerKey? LoadManagerKey(ComposerSettings settings, ConfigProvenance provenance, List<ConfigDiagnostic> errors,
        List<ConfigDiagnostic> warnings, bool required)
    {
        var because = settings.OpenCti.Enable ? "opencti.enable" : settings.OpenAev.Enable ? "openaev.enable" : null;
        if (because is null) return null;
        var result = ManagerKey.Load(settings.Manager);
        if (result.IsMissing)
        {
            if (required) errors.Add(new ConfigDiagnostic(result.Error!.ConfigKey, provenance.Describe(result.Error.ConfigKey), $"{result.Error.Message}; required because {because} is true"));
            return null;
        }
        foreach (var warning in result.Warnings) warnings.Add(new ConfigDiagnostic(warning.ConfigKey, provenance.Describe(warning.ConfigKey), warning.Message));
        if (result.Error is { } error) errors.Add(new ConfigDiagnostic(error.ConfigKey, provenance.Describe(error.ConfigKey), error.Message));
        return result.Key;
    }

    private static ResolvedPlatform ResolvePlatform(ComposerSettings settings, PlatformKind kind, CertificateLoader certificates)
    {
        var p = kind == PlatformKind.OpenCti ? settings.OpenCti : settings.OpenAev;
        var network = PlatformNetworkPolicy.Resolve(settings, kind, certificates);
        return new ResolvedPlatform
        {
            Kind = kind,
            Enabled = p.Enable,
            Url = p.Url,
            Token = p.Token,
            Selector = p.Daemon.Selector,
            Daemon = p.Daemon,
            LogsSchedule = TimeSpan.FromSeconds(Math.Max(1, p.LogsSchedule)),
            Network = network,
            // Computed once (it reads the system roots when a proxy CA is configured), only for platforms in use.
            ConnectorNetwork = p.Enable ? ConnectorNetworkEnvironment.Compute(network) : ConnectorNetworkEnvironment.None,
            PortainerCa = certificates.Load(PortainerCaKey(kind), p.Daemon.Portainer?.Ca),
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
