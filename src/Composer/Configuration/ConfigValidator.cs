using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;

namespace Composer.Configuration;

/// <summary>
/// Cross-field and semantic rules, run after binding. Every problem is collected with its key and the source of
/// the offending value; nothing is printed that could be a secret.
/// </summary>
public static class ConfigValidator
{
    private static readonly string[] Selectors = ["kubernetes", "docker", "swarm", "portainer"];
    private static readonly string[] PullPolicies = ["Always", "IfNotPresent", "Never"];
    private static readonly string[] LogLevels = ["trace", "debug", "info", "warn", "error"];
    private static readonly string[] LogFormats = ["json", "pretty"];
    private static readonly string[] RestartConditions = ["none", "on-failure", "any"];

    public static void Validate(ComposerSettings s, ConfigProvenance provenance, List<ConfigDiagnostic> errors, List<ConfigDiagnostic> warnings, bool requireManagerKey = true)
    {
        var v = new Checker(provenance, errors, warnings);

        var m = s.Manager;
        v.Positive("manager.execute_schedule", m.ExecuteSchedule);
        v.Positive("manager.ping_alive_schedule", m.PingAliveSchedule);
        if (!LogLevels.Contains(m.Logger.Level.ToLowerInvariant()) && m.Logger.Level is not ("1" or "2" or "3" or "4" or "5"))
        {
            v.Error("manager.logger.level", $"expected one of trace, debug, info, warn, error, got \"{m.Logger.Level}\"");
        }
        if (!LogFormats.Contains(m.Logger.Format.ToLowerInvariant()))
        {
            v.Error("manager.logger.format", $"expected json or pretty, got \"{m.Logger.Format}\"");
        }

        if (s.OpenCti.Enable || s.OpenAev.Enable) CheckPrivateKey(v, m, s.OpenCti.Enable ? "opencti.enable" : "openaev.enable", requireManagerKey);

        v.ProxyUrl("http_proxy", s.HttpProxy);
        v.ProxyUrl("https_proxy", s.HttpsProxy);
        v.Certificates("https_proxy_ca", s.HttpsProxyCa);
        v.Certificates("app.https_cert.ca", s.App.HttpsCert.Ca);

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
        v.Certificates($"{p}.https_proxy_ca", platform.HttpsProxyCa);

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

        if (d.Registry is { } r)
        {
            var hasUser = !string.IsNullOrEmpty(r.Username);
            var hasPassword = !string.IsNullOrEmpty(r.Password);
            if (hasUser && !hasPassword) v.Error($"{p}.daemon.registry.username", $"a username needs a password ({p}.daemon.registry.password)");
            if (hasPassword && !hasUser) v.Error($"{p}.daemon.registry.password", $"a password needs a username ({p}.daemon.registry.username)");
            if ((hasUser || hasPassword) && string.IsNullOrWhiteSpace(r.Server))
            {
                v.Error($"{p}.daemon.registry.{(hasUser ? "username" : "password")}", $"registry credentials need a server ({p}.daemon.registry.server)");
            }
            if (Composer.Images.RegistryServer.Validate(r.Server) is { } serverProblem) v.Error($"{p}.daemon.registry.server", serverProblem);
            v.Positive($"{p}.daemon.registry.token_ttl", r.TokenTtl);
            v.NotNegative($"{p}.daemon.registry.retry_attempts", r.RetryAttempts);
            v.NotNegative($"{p}.daemon.registry.retry_delay", r.RetryDelay);
        }

        if (d.Kubernetes is { } k)
        {
            if (!PullPolicies.Contains(k.ImagePullPolicy))
            {
                v.Error($"{p}.daemon.kubernetes.image_pull_policy", $"expected Always, IfNotPresent or Never, got \"{k.ImagePullPolicy}\"");
            }
            var kp = $"{p}.daemon.kubernetes";
            if (v.JsonObject($"{kp}.base_deployment", k.BaseDeployment)) v.Problems($"{kp}.base_deployment", Orchestration.Kubernetes.DeploymentBase.Problems(k.BaseDeployment!));
            if (v.JsonObject($"{kp}.base_deployment_json", k.BaseDeploymentJson))
            {
                if (k.BaseDeployment is not null) v.Warning($"{kp}.base_deployment_json", $"ignored: {kp}.base_deployment is set and is used instead");
                else v.Problems($"{kp}.base_deployment_json", Orchestration.Kubernetes.DeploymentBase.Problems(k.BaseDeploymentJson!));
            }
            if (v.JsonObject($"{kp}.image_resources", k.ImageResources)) v.Problems($"{kp}.image_resources", Orchestration.Kubernetes.DeploymentBase.ResourceProblems(k.ImageResources!));
            if (k.Namespace is { } ns && Orchestration.Kubernetes.KubernetesNames.LabelProblem(ns.Trim()) is { } nsProblem)
            {
                v.Error($"{kp}.namespace", $"\"{ns}\" is not a namespace name: {nsProblem}");
            }
            if (k.ImagePullSecrets is { } pullSecrets)
            {
                foreach (var name in pullSecrets.Where(n => !Orchestration.Kubernetes.KubernetesNames.IsSubdomain(n)))
                {
                    v.Error($"{kp}.image_pull_secrets", $"\"{name}\" is not a secret name (lowercase letters, digits, '-' and '.', at most 253 characters)");
                }
            }
        }

        if (d.Portainer is { } pt)
        {
            v.HttpUrl($"{p}.daemon.portainer.api", pt.Api);
            if (pt.EnvType != "docker") v.Error($"{p}.daemon.portainer.env_type", $"expected docker (the only supported Portainer environment type), got \"{pt.EnvType}\"");
        }

        if (d.Docker is { } dk)
        {
            v.Ulimits($"{p}.daemon.docker.ulimits", dk.Ulimits);
            if (Composer.Orchestration.Docker.DockerEndpoint.Validate(dk.Host) is { } hostProblem) v.Error($"{p}.daemon.docker.host", hostProblem);
            if (dk.ShmSize is < 0) v.Error($"{p}.daemon.docker.shm_size", $"expected a size in bytes >= 0, got {dk.ShmSize}");
        }

        if (d.Swarm is { } sw)
        {
            v.Ulimits($"{p}.daemon.swarm.ulimits", sw.Ulimits);
            if (sw.RestartCondition is { } rc && !RestartConditions.Contains(rc))
            {
                v.Error($"{p}.daemon.swarm.restart_condition", $"expected none, on-failure or any, got \"{rc}\"");
            }
            if (sw.StopGracePeriod is < 0) v.Error($"{p}.daemon.swarm.stop_grace_period", "expected a duration in nanoseconds >= 0");
            if (sw.RestartDelay is < 0) v.Error($"{p}.daemon.swarm.restart_delay", "expected a duration in nanoseconds >= 0");
            if (sw.RestartMaxAttempts is < 0) v.Error($"{p}.daemon.swarm.restart_max_attempts", "expected a number >= 0");
        }
    }

    /// <summary>The manager key: credentials_key_filepath wins over credentials_key; PKCS#8 PEM; RSA-4096.</summary>
    private static void CheckPrivateKey(Checker v, ManagerSettings m, string because, bool required)
    {
        string pem;
        string key;
        if (!string.IsNullOrWhiteSpace(m.CredentialsKeyFilepath))
        {
            key = "manager.credentials_key_filepath";
            if (!string.IsNullOrWhiteSpace(m.CredentialsKey))
            {
                v.Warning(key, "both manager.credentials_key and manager.credentials_key_filepath are set; using credentials_key_filepath");
            }
            try
            {
                pem = File.ReadAllText(m.CredentialsKeyFilepath);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                v.Error(key, $"cannot read the private key file \"{m.CredentialsKeyFilepath}\": {FileErrors.Describe(ex)}");
                return;
            }
        }
        else if (!string.IsNullOrWhiteSpace(m.CredentialsKey))
        {
            key = "manager.credentials_key";
            pem = m.CredentialsKey;
        }
        else
        {
            if (!required) return;
            v.Error("manager.credentials_key",
                $"no manager private key: set manager.credentials_key or manager.credentials_key_filepath (MANAGER__CREDENTIALS_KEY, MANAGER__CREDENTIALS_KEY_FILE or MANAGER__CREDENTIALS_KEY_FILEPATH); required because {because} is true");
            return;
        }

        pem = pem.Trim();
        if (!pem.Contains("BEGIN PRIVATE KEY", StringComparison.Ordinal) || !pem.Contains("END PRIVATE KEY", StringComparison.Ordinal))
        {
            v.Error(key, "expected a PKCS#8 PEM private key (-----BEGIN PRIVATE KEY-----); PKCS#1 (BEGIN RSA PRIVATE KEY) and encrypted keys are not accepted, convert with: openssl pkcs8 -topk8 -nocrypt -in key.pem -out key.pkcs8.pem");
            return;
        }
        try
        {
            var fields = PemEncoding.Find(pem);
            var der = Convert.FromBase64String(pem[fields.Base64Data]);
            using var rsa = RSA.Create();
            rsa.ImportPkcs8PrivateKey(der, out _);
            if (rsa.KeySize != 4096)
            {
                v.Error(key, $"the RSA key is {rsa.KeySize} bits; the platform encrypts connector secrets for an RSA-4096 key (generate one with: openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:4096)");
            }
        }
        catch (Exception ex) when (ex is CryptographicException or FormatException or ArgumentException)
        {
            v.Error(key, "the PKCS#8 PEM block is not a readable RSA private key (wrong algorithm or corrupt data)");
        }
    }

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
                Error(path, $"expected an absolute http:// or https:// URL, got \"{Network.SecretRedaction.RedactUrl(value)}\"");
            }
        }

        /// <summary>Proxy URLs may carry credentials: the value is shown redacted.</summary>
        /// <summary>One rule for proxy URLs: the network layer's parser (scheme optional, http/https/socks5, no path).</summary>
        public void ProxyUrl(string path, string? value)
        {
            if (string.IsNullOrWhiteSpace(value)) return;
            if (!Network.ProxyEndpoint.TryParse(value, out _, out var problem))
            {
                Error(path, $"{problem}, got \"{Network.SecretRedaction.RedactUrl(value)}\"");
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

        /// <summary>One rule for CA lists: the network layer's loader (inline PEM, PEM file or DER file).</summary>
        public void Certificates(string path, List<string>? entries)
        {
            if (entries is null) return;
            var (bundle, problems) = Network.ProxyCaBundle.Load(entries, path);
            foreach (var c in bundle.Certificates) c.Dispose();
            foreach (var d in problems)
            {
                Error(path, $"entry {d.Key[(path.Length + 1)..^1]} ({d.Source}): {d.Message}");
            }
        }
    }
}
