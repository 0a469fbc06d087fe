using System.Security.Cryptography;
using Composer.Configuration;
using Composer.Diagnostics;

namespace Composer.Platform;

/// <summary>
/// The manager's RSA private key: the platform encrypts connector secrets for its public half (sent at
/// registration), Composer decrypts them with it (<see cref="SecretDecryption"/>). The one rule for which keys are
/// usable lives here; the resolve step calls <see cref="Load"/>, the only place the key is read.
/// </summary>
public sealed class ManagerKey : IDisposable
{
    private const string FilePathKey = "manager.credentials_key_filepath";
    private const string InlineKey = "manager.credentials_key";

    /// <summary>The sizes the platform's wire format works with; anything under the last one gets a warning.</summary>
    private static readonly int[] AcceptedSizes = [2048, 3072, 4096];
    private const int RecommendedSize = 4096;

    private const string GenerateHint = "generate one with: openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:4096";

    private readonly RSA _rsa;
    // Only registration needs the public half; encoding it goes through OpenSSL's encoder lookup (about 0.4 ms),
    // which `config validate` and the other short commands should not pay at start-up.
    private readonly Lazy<string> _publicKeyPkcs1Pem;
    private readonly Lazy<string> _publicKeySpkiPem;

    private ManagerKey(RSA rsa, string source)
    {
        _rsa = rsa;
        Source = source;
        _publicKeyPkcs1Pem = new(() => rsa.ExportRSAPublicKeyPem() + "\n");
        _publicKeySpkiPem = new(() => rsa.ExportSubjectPublicKeyInfoPem() + "\n");
    }

    public int KeySizeBits => _rsa.KeySize;

    /// <summary>Where the key was read from, for people: "manager.credentials_key_filepath /etc/composer/key.pem" or "manager.credentials_key".</summary>
    public string Source { get; }

    /// <summary>Length of the RSA block at the start of an encrypted value: the modulus length in bytes.</summary>
    public int BlockLength => _rsa.KeySize / 8;

    /// <summary>PKCS#1 PEM (-----BEGIN RSA PUBLIC KEY-----, 64-column lines, LF, final newline): what OpenCTI registration sends.</summary>
    public string PublicKeyPkcs1Pem => _publicKeyPkcs1Pem.Value;

    /// <summary>SPKI PEM (-----BEGIN PUBLIC KEY-----, LF, final newline): what OpenAEV registration sends.</summary>
    public string PublicKeySpkiPem => _publicKeySpkiPem.Value;

    internal RSA Rsa => _rsa;

    /// <summary>
    /// Loads the key from manager.credentials_key_filepath (wins, with a warning, when both are set) or
    /// manager.credentials_key; every problem is reported with its key, never with key material. Null when there is
    /// none or it cannot be used.
    /// </summary>
    /// <param name="requiredBecause">What needs the key ("opencti.enable"): no key at all is then an error saying so; null: no key is fine.</param>
    public static ManagerKey? Load(ManagerSettings manager, ConfigReport report, string? requiredBecause = null)
    {
        string pem;
        string key;
        string source;
        string description;
        if (!string.IsNullOrWhiteSpace(manager.CredentialsKeyFilepath))
        {
            key = FilePathKey;
            source = $"the key file \"{manager.CredentialsKeyFilepath}\"";
            description = $"{FilePathKey} {manager.CredentialsKeyFilepath}";
            if (!string.IsNullOrWhiteSpace(manager.CredentialsKey?.Reveal()))
            {
                report.Warning(key, "both manager.credentials_key and manager.credentials_key_filepath are set; using credentials_key_filepath");
            }
            try
            {
                pem = File.ReadAllText(manager.CredentialsKeyFilepath);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                report.Error(key, $"cannot read the private key file \"{manager.CredentialsKeyFilepath}\": {FileErrors.Describe(ex, manager.CredentialsKeyFilepath)}");
                return null;
            }
        }
        else if (!string.IsNullOrWhiteSpace(manager.CredentialsKey?.Reveal()))
        {
            key = InlineKey;
            source = "the key";
            description = InlineKey;
            pem = manager.CredentialsKey!.Reveal();
        }
        else
        {
            if (requiredBecause is not null)
            {
                report.Error(InlineKey, "no manager private key: set manager.credentials_key or manager.credentials_key_filepath " +
                    $"(MANAGER__CREDENTIALS_KEY, MANAGER__CREDENTIALS_KEY_FILE or MANAGER__CREDENTIALS_KEY_FILEPATH); required because {requiredBecause} is true");
            }
            return null;
        }

        var parsed = Parse(pem, source);
        if (!parsed.IsSuccess)
        {
            report.Error(key, parsed.Failure.Message);
            return null;
        }
        var rsa = parsed.Value;
        if (!AcceptedSizes.Contains(rsa.KeySize))
        {
            report.Error(key, $"{source} is an RSA-{rsa.KeySize} key; expected 2048, 3072 or 4096 bits ({GenerateHint})");
            rsa.Dispose();
            return null;
        }
        if (rsa.KeySize < RecommendedSize)
        {
            report.Warning(key, $"{source} is an RSA-{rsa.KeySize} key; 4096 bits is recommended (and the only size the upstream xtm-composer accepts)");
        }
        return new ManagerKey(rsa, description);
    }

    /// <summary>The first private-key PEM block (PKCS#8 or PKCS#1) as an RSA key, or why not.</summary>
    private static Result<RSA> Parse(string text, string source)
    {
        const string expected = "expected an RSA private key in PEM form (-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)";
        // Legacy OpenSSL encryption puts headers in the block, which RFC 7468 parsing does not accept: look first.
        if (text.Contains("BEGIN ENCRYPTED PRIVATE KEY", StringComparison.Ordinal) || text.Contains("Proc-Type: 4,ENCRYPTED", StringComparison.Ordinal))
        {
            return Failure.Input($"{source} is encrypted with a passphrase; Composer needs an unencrypted key (decrypt it with: openssl pkey -in key.pem -out key.plain.pem)");
        }
        var rest = text.AsSpan();
        while (PemEncoding.TryFind(rest, out var fields))
        {
            var label = rest[fields.Label];
            var pkcs8 = label.SequenceEqual("PRIVATE KEY");
            if (pkcs8 || label.SequenceEqual("RSA PRIVATE KEY"))
            {
                var der = new byte[fields.DecodedDataLength];
                if (!Convert.TryFromBase64Chars(rest[fields.Base64Data], der, out var written))
                {
                    return Failure.Input($"{source} has a PEM block that is not valid base64");
                }
                var rsa = RSA.Create();
                try
                {
                    if (pkcs8) rsa.ImportPkcs8PrivateKey(der.AsSpan(0, written), out _);
                    else rsa.ImportRSAPrivateKey(der.AsSpan(0, written), out _);
                    return Result<RSA>.Success(rsa);
                }
                catch (CryptographicException)
                {
                    rsa.Dispose();
                    return Failure.Input(pkcs8
                        ? $"{source} is not a readable RSA private key (a PKCS#8 block of another algorithm, or corrupt data)"
                        : $"{source} is not a readable RSA private key (corrupt PKCS#1 block)");
                }
                finally
                {
                    CryptographicOperations.ZeroMemory(der);
                }
            }
            rest = rest[fields.Location.End..];
        }
        return Failure.Input(text.Contains("-----BEGIN", StringComparison.Ordinal)
            ? $"{source} holds no private key block: {expected}"
            : $"{source} is not PEM: {expected}");
    }

    public void Dispose() => _rsa.Dispose();

    // Nothing about the key itself is worth printing; its size is.
    public override string ToString() => $"RSA-{KeySizeBits} manager key";
}
