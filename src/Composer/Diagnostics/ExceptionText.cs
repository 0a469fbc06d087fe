namespace Composer.Diagnostics;

/// <summary>One line for a user out of an exception chain (transport errors of the registry, platform and Kubernetes clients).</summary>
public static class ExceptionText
{
    /// <summary>The message followed by each inner message that adds something (": "-separated), no stack trace.</summary>
    public static string Describe(Exception ex)
    {
        var message = ex.Message;
        for (var inner = ex.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (!string.IsNullOrWhiteSpace(inner.Message) && !message.Contains(inner.Message, StringComparison.Ordinal)) message += ": " + inner.Message;
        }
        return message;
    }
}
