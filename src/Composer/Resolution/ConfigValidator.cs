using Composer.Configuration;
using Composer.Diagnostics;
using Composer.Network;

namespace Composer.Resolution;

/// <summary>
/// The rules of the resolve step that need no file and belong to no orchestrator: the manager's numbers, the proxies,
/// the platforms' URLs and timeouts (the logger's are <see cref="LoggerSetup.Resolve"/>'s). The rest of the resolve step (<see cref="SettingsResolver"/>) reads the
/// files and calls the parsers of the registry and the orchestrators. Every problem is reported with its key and the
/// source of the offending value; nothing is printed that could be a secret.
/// </summary>
public static class ConfigValidator
{
    /// <summary>The platforms mark a manager inactive once its last ping is this old (OpenCTI's ConnectorManager.active).</summary>
    public const int PlatformActivityWindowSeconds = 300;

    /// <summary>OpenCTI holds a listing up to this long while managed connectors auto-upgrade.</summary>
    public const int PlatformListingHoldSeconds = 90;

    /// <summary>The smallest listing_max_size accepted: a listing of one connector with a few secrets fits many times over.</summary>
    public const long MinListingMaxSize = 64 * 1024;

    /// <summary>manager.health_schedule's upper bound: a report every 4 minutes reaches the platform before it forgets the last one (5 minutes).</summary>
    public const int MaxHealthSchedule = 240;

    public static void Validate(ComposerSettings s, ConfigReport report)
    {
        var m = s.Manager;
        Positive(report, "manager.execute_schedule", m.ExecuteSchedule);
        Positive(report, "manager.ping_alive_schedule", m.PingAliveSchedule);
        if (m.PingAliveSchedule >= PlatformActivityWindowSeconds)
        {
            report.Error("manager.ping_alive_schedule", $"expected less than {PlatformActivityWindowSeconds} seconds, got {m.PingAliveSchedule}: the platform shows a manager "
                + $"whose last ping is {PlatformActivityWindowSeconds / 60} minutes old as inactive (60 is the default)");
        }
        // The platforms' own rule for the registered name (OpenCTI: @constraint(minLength: 2), not blank; OpenAEV: @NotBlank).
        var name = m.Name ?? "";
        if (name.Length < 2 || string.IsNullOrWhiteSpace(name))
        {
            report.Error("manager.name", $"expected a name of at least 2 characters, not only spaces, got {QuotedText.Quote(name, QuoteStyle.Message)}: "
                + "the platform refuses to register the manager under it");
        }
        Positive(report, "manager.max_parallel", m.MaxParallel);
        Between(report, "manager.logs.max_lines", m.Logs.MaxLines, 1, 10_000);
        Between(report, "manager.logs.max_bytes", m.Logs.MaxBytes, 1024, 16 * 1024 * 1024);
        Between(report, "manager.logs.max_line_bytes", m.Logs.MaxLineBytes, 64, Math.Max(64, m.Logs.MaxBytes), "manager.logs.max_bytes");
        Positive(report, "manager.health_schedule", m.HealthSchedule);
        Positive(report, "manager.connector_deadline", m.ConnectorDeadline);
        if (m.HealthSchedule > MaxHealthSchedule)
        {
            report.Error("manager.health_schedule", $"expected at most {MaxHealthSchedule} seconds (the platform forgets a connector's health 300 seconds after its last report), got {m.HealthSchedule}");
        }

        ProxyUrl(report, "http_proxy", s.HttpProxy);
        ProxyUrl(report, "https_proxy", s.HttpsProxy);

        CheckPlatform(report, "opencti", s.OpenCti);
        CheckPlatform(report, "openaev", s.OpenAev);
    }

    private static void CheckPlatform(ConfigReport report, string p, PlatformSettings platform)
    {
        HttpUrl(report, $"{p}.url", platform.Url);
        Positive(report, $"{p}.logs_schedule", platform.LogsSchedule);
        Positive(report, $"{p}.request_timeout", platform.RequestTimeout);
        Positive(report, $"{p}.listing_timeout", platform.ListingTimeout);
        if (platform.ListingTimeout is > 0 and < PlatformListingHoldSeconds)
        {
            report.Warning($"{p}.listing_timeout", $"{platform.ListingTimeout} s is shorter than the {PlatformListingHoldSeconds} s OpenCTI may hold a listing "
                + "while managed connectors auto-upgrade: such listings fail and are retried");
        }
        if (platform.ListingMaxSize < MinListingMaxSize)
        {
            report.Error($"{p}.listing_max_size", $"expected at least {MinListingMaxSize} bytes, got {platform.ListingMaxSize}");
        }
        Positive(report, $"{p}.connect_timeout", platform.ConnectTimeout);
        ProxyUrl(report, $"{p}.http_proxy", platform.HttpProxy);
        ProxyUrl(report, $"{p}.https_proxy", platform.HttpsProxy);
    }

    private static void Positive(ConfigReport report, string path, long value)
    {
        if (value <= 0) report.Error(path, $"expected a number greater than 0, got {value}");
    }

    /// <param name="maximumKey">The key the maximum comes from, when it is another setting.</param>
    private static void Between(ConfigReport report, string path, long value, long minimum, long maximum, string? maximumKey = null)
    {
        if (value < minimum || value > maximum)
        {
            report.Error(path, $"expected a number from {minimum} to {maximum}{(maximumKey is null ? "" : $" ({maximumKey})")}, got {value}");
        }
    }

    private static void HttpUrl(ConfigReport report, string path, string? value)
    {
        if (value is null) return;
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Host.Length == 0)
        {
            report.Error(path, $"expected an absolute http:// or https:// URL, got \"{SecretRedaction.RedactUrl(value)}\"");
        }
    }

    /// <summary>One rule for proxy URLs: the network layer's parser (scheme optional, http/https/socks5, no path); the value is shown redacted.</summary>
    private static void ProxyUrl(ConfigReport report, string path, string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return;
        if (!ProxyEndpoint.TryParse(value, out _, out var problem))
        {
            report.Error(path, $"{problem}, got \"{SecretRedaction.RedactUrl(value)}\"");
        }
    }
}
