namespace Composer.Configuration;

/// <summary>Which platform's settings (opencti.* or openaev.*) apply to a connection.</summary>
public enum PlatformKind
{
    OpenCti,
    OpenAev,
}
