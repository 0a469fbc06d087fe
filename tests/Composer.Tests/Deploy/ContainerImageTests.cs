using System.Formats.Tar;
using System.Text;
using System.Text.Json.Nodes;
using Composer.Diagnostics;
using Composer.Orchestration;
using Composer.Tests.Infrastructure;
using Composer.Tests.Platform;
using Docker.DotNet.Models;

namespace Composer.Tests.Deploy;

/// <summary>
/// The FROM scratch image of deploy/Dockerfile against the real engine: what it holds, and Composer running in it
/// the hardened way (read-only root filesystem, non-root, host network since the engine has no bridge) managing
/// sibling containers through the mounted socket for the OpenCTI stand-in on the host.
/// </summary>
public class ContainerImageTests
{
    [ClassDataSource<ComposerImageFixture>(Shared = SharedType.PerTestSession)]
    public required ComposerImageFixture Image { get; init; }

    [ClassDataSource<TestConnectorImage>(Shared = SharedType.PerTestSession)]
    public required TestConnectorImage ConnectorImage { get; init; }

    private DockerEngineFixture Docker => Image.Docker;

    [Test]
    public async Task The_image_holds_the_binary_the_ca_bundle_the_default_configuration_and_the_user_entry_only()
    {
        Image.Require();
        var saved = Path.Combine(Directory.CreateTempSubdirectory("composer-image-save-").FullName, "image.tar");
        await Docker.RunCliCheckedAsync(["save", "-o", saved, Image.Tag]);
        var files = new SortedSet<string>(StringComparer.Ordinal);
        await using (var archive = File.OpenRead(saved))
        {
            await using var outer = new TarReader(archive);
            while (await outer.GetNextEntryAsync() is { } entry)
            {
                if (!entry.Name.EndsWith("layer.tar", StringComparison.Ordinal) || entry.DataStream is null) continue;
                await using var layer = new TarReader(entry.DataStream);
                while (await layer.GetNextEntryAsync() is { } file)
                {
                    if (file.EntryType is not TarEntryType.Directory) files.Add(file.Name);
                }
            }
        }
        await Assert.That(files).IsEquivalentTo(new[]
        {
            "etc/group", "etc/passwd", "etc/ssl/certs/ca-certificates.crt", "opt/composer/config/default.yaml", "usr/local/bin/composer",
        });

        var config = (await Docker.Client.Images.InspectImageAsync(Image.Tag)).Config!;
        await Assert.That(config.User).IsEqualTo("65532:65532");
        await Assert.That(config.WorkingDir).IsEqualTo("/opt/composer");
        await Assert.That(config.Env).Contains("SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt");
        await Assert.That(config.Entrypoint).IsEquivalentTo(new[] { "/usr/local/bin/composer" });
        await Assert.That(config.Labels!["org.opencontainers.image.version"]).IsEqualTo(BuildInfo.Version);
    }

    [Test]
    public async Task Validate_runs_as_the_non_root_user_on_a_read_only_root_filesystem_with_the_default_configuration()
    {
        Image.Require();
        var result = await Docker.RunContainerAsync(Image.Tag, ["config", "validate"], new ContainerRunOptions
        {
            ReadOnlyRootFilesystem = true,
            Environment = new Dictionary<string, string> { ["OPENCTI__ENABLE"] = "false" },
        });
        await Assert.That(result.ExitCode).IsEqualTo(0).Because(result.ToString());
        await Assert.That(result.Stdout).IsEqualTo("configuration OK (config/default.yaml; 0 warnings)\n");
    }

    [Test]
    public async Task Composer_in_the_container_deploys_a_sibling_connector_that_receives_the_proxy_ca_bundle()
    {
        Image.Require();
        ConnectorImage.Require();
        var prefix = "cmpi-" + Guid.NewGuid().ToString("N")[..8];
        var managerId = prefix + "-manager";
        using var proxyCa = new TestCertificateAuthority($"{prefix} proxy CA");

        // What the container mounts read-only: the manager key and the proxy CA, readable by its user (65532).
        var secrets = Directory.CreateTempSubdirectory("composer-image-secrets-").FullName;
        File.SetUnixFileMode(secrets, (UnixFileMode)0b111_101_101);
        var keyPath = Path.Combine(secrets, "manager-key.pem");
        await File.WriteAllTextAsync(keyPath, PlatformTestKeys.Rsa(4096).ExportPkcs8PrivateKeyPem());
        await File.WriteAllTextAsync(Path.Combine(secrets, "proxy-ca.pem"), proxyCa.CertificatePem);
        foreach (var file in Directory.GetFiles(secrets)) File.SetUnixFileMode(file, (UnixFileMode)0b110_100_100);

        await using var standIn = await OpenCtiStandIn.StartAsync();
        var connectorId = Guid.NewGuid().ToString();
        standIn.AddConnector(new StandInConnector(connectorId, $"{prefix}-ca", TestConnectorImage.Reference, "hash-1")
        {
            Configuration = [new StandInEntry("CONNECTOR_ID", connectorId)],
        });

        var socketGroup = (await ProcessRunner.RunAsync(new System.Diagnostics.ProcessStartInfo("stat", ["-c", "%g", Docker.SocketPath]),
            null, TimeSpan.FromSeconds(10), "stat")).Stdout.Trim();
        var composer = await Docker.Client.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Name = prefix + "-composer",
            Image = Image.Tag,
            Env =
            [
                $"MANAGER__ID={managerId}",
                "MANAGER__EXECUTE_SCHEDULE=1",
                "MANAGER__CREDENTIALS_KEY_FILEPATH=/run/composer/manager-key.pem",
                $"OPENCTI__URL={standIn.Url}",
                $"OPENCTI__TOKEN={PlatformStandIn.DefaultToken}",
                "OPENCTI__DAEMON__SELECTOR=docker",
                "OPENCTI__DAEMON__DOCKER__NETWORK_MODE=none",
                "OPENCTI__WITH_PROXY=true",
                // Never contacted: the platform is on loopback, the engine on its socket, the image already local.
                "HTTPS_PROXY=http://proxy.composer.test:3128",
                "HTTPS_PROXY_CA=[\"/run/composer/proxy-ca.pem\"]",
            ],
            Labels = new Dictionary<string, string> { ["composer.test"] = "true" },
            HostConfig = new HostConfig
            {
                NetworkMode = "host",
                ReadonlyRootfs = true,
                GroupAdd = [socketGroup],
                Binds = [$"{Docker.SocketPath}:/var/run/docker.sock", $"{secrets}:/run/composer:ro"],
            },
        });
        try
        {
            await Docker.Client.Containers.StartContainerAsync(composer.ID, new ContainerStartParameters());
            await standIn.WaitUntilAsync(s => s.StatusReports.Any(r => r.ConnectorId == connectorId && r.Status == "started"),
                TimeSpan.FromSeconds(90), "the connector reported started");

            var connectors = await Docker.Client.Containers.ListContainersAsync(new ContainersListParameters
            {
                All = true,
                Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"opencti-manager={managerId}"] = true } },
            });
            var connector = connectors.Single();
            var logs = await LogsAsync(connector.ID);
            await Assert.That(logs).Contains($"{TestConnectorImage.StartLine}: {connectorId}");
            await Assert.That(logs).Contains(TestConnectorImage.CaPresentLine);

            // The full bundle: the image's system roots, then the proxy CA.
            var bundle = Encoding.UTF8.GetString(await ReadFileAsync(connector.ID, ConnectorNetworkEnvironment.CaBundlePath));
            var roots = await File.ReadAllTextAsync(Path.Combine(Image.ContextDirectory, "ca-certificates.crt"));
            await Assert.That(bundle.TrimEnd()).EndsWith(proxyCa.CertificatePem.TrimEnd());
            await Assert.That(bundle).StartsWith(roots.TrimEnd());
            var environment = (await Docker.Client.Containers.InspectContainerAsync(connector.ID)).Config!.Env!;
            await Assert.That(environment).Contains($"SSL_CERT_FILE={ConnectorNetworkEnvironment.CaBundlePath}");
            await Assert.That(environment).Contains("HTTPS_PROXY=http://proxy.composer.test:3128");

            // Composer itself: still running, as 65532 on a read-only root filesystem, no error logged.
            var self = await Docker.Client.Containers.InspectContainerAsync(composer.ID);
            await Assert.That(self.State!.Running).IsTrue();
            await Assert.That(self.Config!.User).IsEqualTo("65532:65532");
            await Assert.That(self.HostConfig!.ReadonlyRootfs).IsTrue();
            var composerLogs = await LogsAsync(composer.ID);
            var errors = composerLogs.Split('\n').Where(l => l.StartsWith('{') && JsonNode.Parse(l)?["level"]?.GetValue<string>() == "error").ToList();
            await Assert.That(errors).IsEmpty().Because(composerLogs);
            await Assert.That(standIn.Rejections).IsEmpty();
        }
        finally
        {
            await Docker.Client.Containers.RemoveContainerAsync(composer.ID, new ContainerRemoveParameters { Force = true });
            var leftovers = await Docker.Client.Containers.ListContainersAsync(new ContainersListParameters
            {
                All = true,
                Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"opencti-manager={managerId}"] = true } },
            });
            foreach (var c in leftovers) await Docker.Client.Containers.RemoveContainerAsync(c.ID, new ContainerRemoveParameters { Force = true });
            Directory.Delete(secrets, recursive: true);
        }
    }

    private async Task<string> LogsAsync(string container)
    {
        using var stream = await Docker.Client.Containers.GetContainerLogsAsync(container, new ContainerLogsParameters { ShowStdout = true, ShowStderr = true });
        var (stdout, stderr) = await stream.ReadOutputToEndAsync(CancellationToken.None);
        return stdout + stderr;
    }

    private async Task<byte[]> ReadFileAsync(string container, string path)
    {
        var archive = await Docker.Client.Containers.GetArchiveFromContainerAsync(container, new ContainerPathStatParameters { Path = path }, statOnly: false);
        // Read the whole answer first: read straight from the engine's chunked stream, the 200 KB bundle ended early (EndOfStreamException).
        using var buffered = new MemoryStream();
        await using (archive.Stream) await archive.Stream!.CopyToAsync(buffered);
        buffered.Position = 0;
        await using var tar = new TarReader(buffered);
        var entry = await tar.GetNextEntryAsync() ?? throw new InvalidOperationException($"empty archive for {path}");
        using var content = new MemoryStream();
        await entry.DataStream!.CopyToAsync(content);
        return content.ToArray();
    }
}
