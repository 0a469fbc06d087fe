using Composer.Configuration;
using Composer.Images;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.Images.Registry;

internal static class RegistryTestSupport
{
    public static RegistryConfiguration Configuration(string? server, string? username = null, string? password = null,
        int tokenTtl = 1800, int retryAttempts = 0, int retryDelay = 0, string? email = null)
    {
        var errors = new List<ConfigDiagnostic>();
        var configuration = RegistryConfiguration.FromSettings(new RegistrySettings
        {
            Server = server,
            Username = username,
            Password = Composer.Diagnostics.Secret.From(password),
            Email = email,
            TokenTtl = tokenTtl,
            RetryAttempts = retryAttempts,
            RetryDelay = retryDelay,
        }, ConfigProvenance.None, errors, []);
        if (configuration is null) throw new InvalidOperationException(string.Join("; ", errors));
        return configuration;
    }

    public static RegistryClient Client(RegistryConfiguration configuration, TestOutboundHandlerFactory? handlers = null, TimeProvider? clock = null,
        List<TimeSpan>? delays = null) =>
        new(handlers ?? new TestOutboundHandlerFactory(), configuration, new RegistryClientOptions
        {
            Clock = clock ?? TimeProvider.System,
            Delay = (d, _) => { lock (delays ?? []) delays?.Add(d); return Task.CompletedTask; },
            RequestTimeout = TimeSpan.FromSeconds(10),
        });
}
