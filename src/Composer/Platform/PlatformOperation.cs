namespace Composer.Platform;

/// <summary>One of the seven manager operations: its name in errors and metrics, and how a log line says it.</summary>
internal sealed record PlatformOperation(string Name, string Description)
{
    public static readonly PlatformOperation Version = new("version", "version query");
    public static readonly PlatformOperation Register = new("register", "manager registration");
    public static readonly PlatformOperation Ping = new("ping", "manager ping");
    public static readonly PlatformOperation List = new("list connectors", "connector listing");
    public static readonly PlatformOperation Status = new("report status", "connector status report");
    public static readonly PlatformOperation Logs = new("report logs", "connector logs report");
    public static readonly PlatformOperation Health = new("report health", "connector health report");
}
