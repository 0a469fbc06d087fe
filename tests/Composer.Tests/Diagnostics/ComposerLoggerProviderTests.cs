using Composer.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Composer.Tests.Diagnostics;

public class ComposerLoggerProviderTests
{
    [Test]
    public async Task Library_messages_reach_the_configured_logger_with_their_category_and_level()
    {
        var output = new StringWriter();
        using var logger = new Composer.Diagnostics.Logger(Composer.Diagnostics.LogLevel.Info, LogFormat.Json, output, diagnostics: TextWriter.Null);
        var library = new ComposerLoggerProvider(logger).CreateLogger("Docker.DotNet");

        library.LogDebug("dropped below the configured level");
        library.LogWarning("engine answered {Status}", 503);

        var text = output.ToString();
        await Assert.That(text).DoesNotContain("dropped below");
        await Assert.That(text).Contains("\"level\":\"warn\"");
        await Assert.That(text).Contains("engine answered 503");
        await Assert.That(text).Contains("\"category\":\"Docker.DotNet\"");
        await Assert.That(library.IsEnabled(Microsoft.Extensions.Logging.LogLevel.Debug)).IsFalse();
    }
}
