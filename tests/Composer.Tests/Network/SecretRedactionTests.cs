using Composer.Network;

namespace Composer.Tests.Network;

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
    public async Task Masks_the_password_of_urls(string input, string expected)
    {
        await Assert.That(SecretRedaction.RedactUrl(input)).IsEqualTo(expected);
    }
}
