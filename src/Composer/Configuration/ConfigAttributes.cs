namespace Composer.Configuration;

/// <summary>Marks a settings type the generator emits binders for. The root type also gets the loader entry points.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
internal sealed class ConfigSectionAttribute : Attribute
{
    public bool IsRoot { get; init; }
}

/// <summary>The snake_case key of a setting, as written in YAML/JSON; the environment name is derived from it.</summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
internal sealed class ConfigKeyAttribute(string name) : Attribute
{
    public string Name { get; } = name;

    /// <summary>Unit of a whole-number setting ("seconds", "bytes", "nanoseconds"), shown in docs and errors.</summary>
    public string? Unit { get; init; }
}

/// <summary>Other spellings accepted for the same setting (for example the product page's names).</summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false, AllowMultiple = true)]
internal sealed class ConfigAliasAttribute(string path) : Attribute
{
    /// <summary>
    /// The other spelling, relative to the declaring type: "other_key" (same level) or "section.key" (inside a
    /// section property of the declaring type), e.g. "daemon.with_proxy" on the platform's with_proxy.
    /// </summary>
    public string Path { get; } = path;
}

/// <summary>A value that must never be printed, logged or put in an error message.</summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
internal sealed class SecretAttribute : Attribute
{
    /// <summary>The value is a URL whose userinfo password is the secret part: printed as scheme://user:***@host:port.</summary>
    public bool UrlCredentials { get; init; }
}

/// <summary>One line for the generated reference documentation.</summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
internal sealed class ConfigDocAttribute(string text) : Attribute
{
    public string Text { get; } = text;
}

/// <summary>
/// The subtree is kept as JSON text (for example a Kubernetes Deployment); YAML mappings and sequences are
/// converted, a string value is taken as JSON text.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
internal sealed class RawJsonAttribute : Attribute;
