using Composer.Diagnostics;

namespace Composer.Tests.Diagnostics;

public class SecretRedactionTests
{
    [Test]
    [Arguments("http://user:pass@proxy.example.com:3128", "http://user:***@proxy.example.com:3128")]
    [Arguments("https://user:p%40ss@proxy:8443/", "https://user:***@proxy:8443/")]
    [Arguments("http://user:p@ss@proxy:3128", "http://user:***@proxy:3128")]
    [Arguments("http://tokenonly@proxy:3128", "http://***@proxy:3128")]
    [Arguments("user:pass@proxy:3128", "user:***@proxy:3128")]
    [Arguments("/var/run/docker.sock", "/var/run/docker.sock")]
    [Arguments("http://proxy.example.com:3128", "http://proxy.example.com:3128")]
    [Arguments("http://proxy:3128/path@notuserinfo", "http://proxy:3128/path@notuserinfo")]
    [Arguments("", "")]
    // An unescaped '/' (or '?', '#') in the password makes the URL invalid; the error echoing it must not show it.
    [Arguments("http://user:pa+/ss@proxy.example.com:3128", "http://user:***@proxy.example.com:3128")]
    [Arguments("http://user:1234/5678@proxy:3128", "http://user:***@proxy:3128")]
    [Arguments("http://user:a?b#c@proxy", "http://user:***@proxy")]
    [Arguments("http://to/ken@proxy:3128", "http://***@proxy:3128")]
    [Arguments("got \"http://u:p/w@proxy:3128\" (environment HTTP_PROXY)", "got \"http://u:***@proxy:3128\" (environment HTTP_PROXY)")]
    [Arguments("http://proxy/path@notuserinfo", "http://proxy/path@notuserinfo")]
    [Arguments("https://127.0.0.1:5000/v2/repo@sha256:abc", "https://127.0.0.1:5000/v2/repo@sha256:abc")]
    public async Task Masks_the_password_of_urls(string input, string expected)
    {
        await Assert.That(SecretRedaction.RedactUrl(input)).IsEqualTo(expected);
    }
}
