using System.Net;

namespace Composer.Tests.Infrastructure;

public class HostsListTests
{
    [Test]
    public async Task Parse_reads_ip_and_names_and_skips_comments()
    {
        var entries = HostsList.Parse(["# comment", "", "127.0.0.2 a.composer.test  # trailing", "127.0.0.3\tb.composer.test c.composer.test"]);
        await Assert.That(entries).IsEquivalentTo(new[]
        {
            new HostsList.Entry("127.0.0.2", "a.composer.test"),
            new HostsList.Entry("127.0.0.3", "b.composer.test"),
            new HostsList.Entry("127.0.0.3", "c.composer.test"),
        });
        await Assert.That(() => HostsList.Parse(["127.0.0.9"])).Throws<FormatException>();
    }

    [Test]
    public async Task The_list_has_the_proxy_target_host()
    {
        await Assert.That(HostsList.AddressOf("target.composer.test")).IsEqualTo("127.0.0.2");
    }

    /// <summary>.ci/run adds tests/hosts.txt to /etc/hosts: every name must resolve to its address, on loopback.</summary>
    [Test]
    public async Task Every_test_host_resolves_to_its_loopback_address()
    {
        foreach (var entry in HostsList.Entries)
        {
            await Assert.That(IPAddress.IsLoopback(IPAddress.Parse(entry.Address))).IsTrue();
            IPAddress[] addresses;
            try
            {
                addresses = await Dns.GetHostAddressesAsync(entry.Name);
            }
            catch (System.Net.Sockets.SocketException)
            {
                addresses = [];
            }
            Requirements.Need(addresses.Length > 0, $"{entry.Name} in /etc/hosts (run: source scripts/stack.sh && add_test_hosts)");
            await Assert.That(addresses.Select(a => a.ToString())).Contains(entry.Address);
        }
    }
}
