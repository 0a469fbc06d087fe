using Composer.Configuration;

namespace Composer.Network;

/// <summary>
/// Loads each configured CA list (https_proxy_ca, opencti.https_proxy_ca, app.https_cert.ca, ...) once for the whole
/// configuration, so every consumer shares one read of each file and every problem is reported once.
/// </summary>
public sealed class CertificateLoader
{
    private readonly Dictionary<string, ProxyCaBundle> _bundles = new(StringComparer.Ordinal);
    private readonly List<ConfigDiagnostic> _errors = [];

    /// <summary>Every unreadable or invalid entry so far, keyed "&lt;key&gt;[&lt;index&gt;]" (see <see cref="ProxyCaBundle.Load"/>).</summary>
    public IReadOnlyList<ConfigDiagnostic> Errors => _errors;

    /// <summary>The certificates of the list configured under <paramref name="key"/>; read on the first call for that key only.</summary>
    public ProxyCaBundle Load(string key, IReadOnlyList<string>? entries)
    {
        if (_bundles.TryGetValue(key, out var loaded)) return loaded;
        var (bundle, errors) = ProxyCaBundle.Load(entries, key);
        _errors.AddRange(errors);
        _bundles[key] = bundle;
        return bundle;
    }
}
