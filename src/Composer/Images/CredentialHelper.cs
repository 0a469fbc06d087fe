using System.ComponentModel;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Composer.Diagnostics;

namespace Composer.Images;

/// <summary>
/// Asks a docker-credential-helpers helper for one registry's credentials, as the docker CLI does: runs
/// <c>docker-credential-&lt;name&gt; get</c> (found on PATH), writes the server (<see cref="DockerConfigFile.ConfigKey"/>)
/// on its stdin and reads {"ServerURL","Username","Secret"} from its stdout; the username "&lt;token&gt;" means the
/// secret is an identity token. "credentials not found in native keychain" means anonymous access. The helper gets
/// <see cref="Timeout"/> and <see cref="MaxOutputBytes"/> of output; a helper that fails, hangs or talks too much is
/// a failure that names it and the server and quotes a bounded, escaped piece of what it said, with the credentials
/// it is known to hold masked.
/// </summary>
internal static class CredentialHelper
{
    /// <summary>How long a helper may take (cloud helpers call their provider's API).</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    /// <summary>The most of stdout, and of stderr, read from a helper: an answer is a few KiB.</summary>
    public const int MaxOutputBytes = 64 * 1024;

    /// <summary>The most of a helper's own words quoted in a failure.</summary>
    private const int MaxQuotedChars = 300;

    private const string NotFound = "credentials not found in native keychain";
    private const string TokenUsername = "<token>";

    /// <summary>The program a helper name stands for.</summary>
    public static string Program(string helper) => "docker-credential-" + helper;

    /// <summary>The credentials <paramref name="helper"/> holds for <paramref name="registryHost"/>; <paramref name="source"/> says where the helper was named.</summary>
    public static async Task<Result<RegistryLogin>> GetAsync(string helper, string registryHost, string source, CancellationToken cancellationToken, TimeSpan? timeout = null)
    {
        var program = Program(helper);
        var server = DockerConfigFile.ConfigKey(registryHost);
        string Fail(string why) => $"credential helper {program} ({source}) failed for {server}: {why}";
        if (helper.Length == 0 || helper.IndexOfAny(['/', '\\', '\0']) >= 0 || helper.Trim() != helper)
        {
            return Failure.Input(Fail($"{QuotedText.Quote(helper, QuoteStyle.Message)} is not a helper name (docker-credential-<name> on PATH)"));
        }
        var start = new ProcessStartInfo(program, "get")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            CreateNoWindow = true,
        };
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new Win32Exception("the process did not start");
        }
        catch (Win32Exception ex)
        {
            return Failure.Input(Fail($"cannot run it ({ex.Message}); install it on Composer's PATH or remove it from the Docker config"));
        }
        using (process)
        {
            var limit = timeout ?? Timeout;
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(limit);
            var stdout = ReadBoundedAsync(process.StandardOutput.BaseStream, deadline.Token);
            var stderr = ReadBoundedAsync(process.StandardError.BaseStream, deadline.Token);
            try
            {
                await process.StandardInput.WriteAsync(server.AsMemory(), deadline.Token).ConfigureAwait(false);
                process.StandardInput.Close();
            }
            catch (IOException)
            {
                // The helper exited without reading its input; its exit code and output say why.
            }
            string? overflow = null;
            try
            {
                // A stream over the bound stops the helper at once (it would block writing the rest, and never end the other).
                var first = await Task.WhenAny(stdout, stderr).ConfigureAwait(false);
                var full = (await first.ConfigureAwait(false)).Full || (await (first == stdout ? stderr : stdout).ConfigureAwait(false)).Full;
                if (full) overflow = $"it wrote more than {MaxOutputBytes / 1024} KiB";
                if (overflow is null) await process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                Kill(process);
                return Failure.Input(Fail($"no answer within {limit.TotalSeconds:0.#} s (the helper was stopped)"));
            }
            catch (OperationCanceledException)
            {
                Kill(process);
                throw;
            }
            if (overflow is not null)
            {
                Kill(process);
                return Failure.Input(Fail(overflow + " (the helper was stopped)"));
            }
            var output = Encoding.UTF8.GetString((await stdout.ConfigureAwait(false)).Bytes);
            var errors = Encoding.UTF8.GetString((await stderr.ConfigureAwait(false)).Bytes);
            if (process.ExitCode != 0)
            {
                if (output.Trim() == NotFound) return Result<RegistryLogin>.Success(RegistryLogin.Anonymous);
                var said = (output.Trim() + " " + errors.Trim()).Trim();
                return Failure.Input(Fail($"exit code {process.ExitCode}{(said.Length > 0 ? ": " + Scrub(said) : "")}"));
            }
            return Answer(output, registryHost, $"credential helper {program} ({source})", Fail);
        }
    }

    private static Result<RegistryLogin> Answer(string output, string registryHost, string source, Func<string, string> fail)
    {
        CredentialHelperAnswer? answer;
        try
        {
            answer = JsonSerializer.Deserialize(output, RegistryJsonContext.Default.CredentialHelperAnswer);
        }
        catch (JsonException)
        {
            // Not quoted: the output of a helper that succeeded may be its secret.
            return Failure.Input(fail("its answer is not the JSON {\"ServerURL\",\"Username\",\"Secret\"}"));
        }
        if (answer is null || string.IsNullOrEmpty(answer.Secret)) return Result<RegistryLogin>.Success(RegistryLogin.Anonymous);
        var server = RegistryHosts.IsDockerHub(registryHost) ? null : registryHost;
        if (answer.Username == TokenUsername)
        {
            return Result<RegistryLogin>.Success(new RegistryLogin(RegistryCredentials.FromIdentityToken(null, answer.Secret, server, source)));
        }
        if (string.IsNullOrEmpty(answer.Username)) return Failure.Input(fail("its answer has a Secret but no Username"));
        return Result<RegistryLogin>.Success(new RegistryLogin(new RegistryCredentials(answer.Username, new Secret(answer.Secret), null, server, source)));
    }

    /// <summary>At most <see cref="MaxOutputBytes"/> of a stream; Full when there was more.</summary>
    private static async Task<(byte[] Bytes, bool Full)> ReadBoundedAsync(Stream stream, CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxOutputBytes + 1];
        var length = 0;
        int read;
        while (length < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false)) > 0) length += read;
        return length > MaxOutputBytes ? (buffer[..MaxOutputBytes], true) : (buffer[..length], false);
    }

    /// <summary>A helper's words for a message: one line, at most <see cref="MaxQuotedChars"/>, escaped, long token-like words masked.</summary>
    internal static string Scrub(string said)
    {
        var words = said.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)
            .Select(w => w.Length >= 24 && !w.Contains("://", StringComparison.Ordinal) && w.All(c => char.IsAsciiLetterOrDigit(c) || c is '+' or '/' or '=' or '-' or '_' or '.') ? "***" : w);
        var text = string.Join(' ', words);
        if (text.Length > MaxQuotedChars) text = text[..MaxQuotedChars] + "…";
        return QuotedText.Quote(text, QuoteStyle.Message);
    }

    private static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (Exception ex) when (ex is InvalidOperationException or Win32Exception or NotSupportedException)
        {
            // Already gone.
        }
    }
}
