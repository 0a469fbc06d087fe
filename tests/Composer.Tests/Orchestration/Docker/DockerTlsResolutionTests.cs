using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Composer.Configuration;
using Composer.Network;
using Composer.Orchestration.Docker;
using Composer.Tests.Infrastructure;
using static Composer.Tests.Configuration.ConfigTestSupport;

namespace Composer.Tests.Orchestration.Docker;

/// <summary>
/// How the Docker endpoint's TLS is decided and read (the resolve step, in process): the docker CLI's conventions
/// (DOCKER_TLS_VERIFY, DOCKER_TLS, DOCKER_CERT_PATH, DOCKER_CONFIG, ~/.docker), the opencti.daemon.docker.tls keys
/// winning over them, and every unreadable or invalid input named with its key or variable and source. The handshakes
/// themselves are proved against a real dockerd in EndToEnd/DockerTlsTests.
/// </summary>
public class DockerTlsResolutionTests
{
    private static readonly TestCertificateAuthority Ca = new("Composer test Docker TLS resolution CA");

    /// <summary>A cert path in the docker CLI's layout: ca.pem, and cert.pem/key.pem unless <paramref name="client"/> is false.</summary>
    private static string CertPath(bool client = true, Func<X509Certificate2, string>? keyPem = null)
    {
        var directory = Directory.CreateTempSubdirectory("composer-cert-path-").FullName;
        File.WriteAllText(Path.Combine(directory, "ca.pem"), Ca.CertificatePem);
        if (client)
        {
            using var certificate = Ca.IssueClient("resolution-client");
            File.WriteAllText(Path.Combine(directory, "cert.pem"), certificate.ExportCertificatePem());
            File.WriteAllText(Path.Combine(directory, "key.pem"), keyPem?.Invoke(certificate) ?? certificate.GetRSAPrivateKey()!.ExportRSAPrivateKeyPem());
        }
        return directory;
    }

    private static DockerEndpointResolution Resolve(Dictionary<string, string> environment, DockerSettings? docker = null)
    {
        var settings = new ComposerSettings();
        if (docker is not null) settings.OpenCti.Daemon.Docker = docker;
        environment.TryAdd("HOME", Directory.CreateTempSubdirectory("composer-home-").FullName);
        return DockerEndpoint.Resolve(settings, ConfigProvenance.None, environment);
    }

    [Test]
    [Arguments("1")]
    [Arguments("0")]
    [Arguments("false")]
    [Arguments("no")]
    public async Task Any_non_empty_DOCKER_TLS_VERIFY_verifies(string value)
    {
        var resolution = Resolve(new() { ["DOCKER_HOST"] = "tcp://docker.example.com:2376", ["DOCKER_TLS_VERIFY"] = value, ["DOCKER_CERT_PATH"] = CertPath() });
        var endpoint = resolution.Endpoint!;
        await Assert.That(endpoint.Address).IsEqualTo(new Uri("https://docker.example.com:2376/"));
        await Assert.That(endpoint.Tls!.Verify).IsTrue();
        await Assert.That(endpoint.Tls.Endpoint.TrustedRoots.Count).IsEqualTo(1);
        await Assert.That(endpoint.Tls.Endpoint.ClientCertificate!.HasPrivateKey).IsTrue();
        await Assert.That(resolution.Warnings).IsEmpty();
    }

    [Test]
    public async Task An_empty_DOCKER_TLS_VERIFY_is_not_set()
    {
        var resolution = Resolve(new() { ["DOCKER_HOST"] = "tcp://docker.example.com:2375", ["DOCKER_TLS_VERIFY"] = "" });
        await Assert.That(resolution.Endpoint!.Tls).IsNull();
        await Assert.That(resolution.Endpoint.Address.Scheme).IsEqualTo("http");
    }

    [Test]
    public async Task A_tcp_host_without_a_port_keeps_2375_with_TLS_as_the_docker_CLI_does()
    {
        var endpoint = Resolve(new() { ["DOCKER_HOST"] = "tcp://docker.example.com", ["DOCKER_TLS_VERIFY"] = "1", ["DOCKER_CERT_PATH"] = CertPath() }).Endpoint!;
        await Assert.That(endpoint.Address).IsEqualTo(new Uri("https://docker.example.com:2375/"));
    }

    [Test]
    public async Task Without_a_host_TLS_means_tcp_localhost_2376()
    {
        var endpoint = Resolve(new() { ["DOCKER_TLS_VERIFY"] = "1", ["DOCKER_CERT_PATH"] = CertPath() }).Endpoint!;
        await Assert.That(endpoint.Address).IsEqualTo(new Uri("https://localhost:2376/"));
        await Assert.That(endpoint.Source).IsEqualTo("default with TLS, asked for by environment DOCKER_TLS_VERIFY");
    }

    [Test]
    public async Task DOCKER_CERT_PATH_alone_changes_nothing_and_says_so()
    {
        var resolution = Resolve(new() { ["DOCKER_HOST"] = "tcp://docker.example.com:2375", ["DOCKER_CERT_PATH"] = CertPath() });
        await Assert.That(resolution.Endpoint!.Tls).IsNull();
        await Assert.That(resolution.Endpoint.TlsSummary).IsEqualTo("none (plain HTTP)");
        var warning = resolution.Warnings.Single();
        await Assert.That(warning.Key).IsEqualTo("DOCKER_CERT_PATH");
        await Assert.That(warning.Message).Contains("neither DOCKER_TLS_VERIFY nor DOCKER_TLS is set");
    }

    [Test]
    public async Task DOCKER_TLS_is_TLS_without_verification_needs_no_CA_still_presents_the_certificate_and_warns()
    {
        var directory = CertPath();
        File.Delete(Path.Combine(directory, "ca.pem"));
        var resolution = Resolve(new() { ["DOCKER_HOST"] = "tcp://docker.example.com:2376", ["DOCKER_TLS"] = "1", ["DOCKER_CERT_PATH"] = directory });
        await Assert.That(resolution.Errors).IsEmpty();
        var tls = resolution.Endpoint!.Tls!;
        await Assert.That(tls.Verify).IsFalse();
        await Assert.That(tls.Endpoint.SkipVerification).IsTrue();
        await Assert.That(tls.Endpoint.ClientCertificate).IsNotNull();
        await Assert.That(resolution.Endpoint.TlsSummary).StartsWith("TLS, engine certificate NOT verified (environment DOCKER_TLS without DOCKER_TLS_VERIFY)");
        var warning = resolution.Warnings.Single();
        await Assert.That(warning.Key).IsEqualTo("DOCKER_TLS");
        await Assert.That(warning.Message).Contains("NOT verified");
    }

    [Test]
    public async Task The_cert_path_defaults_to_DOCKER_CONFIG_then_home_docker()
    {
        var fromConfig = CertPath();
        var viaDockerConfig = Resolve(new() { ["DOCKER_HOST"] = "tcp://d:2376", ["DOCKER_TLS_VERIFY"] = "1", ["DOCKER_CONFIG"] = fromConfig }).Endpoint!;
        await Assert.That(viaDockerConfig.Tls!.CaSource).IsEqualTo($"{fromConfig}/ca.pem (environment DOCKER_CONFIG, as DOCKER_CERT_PATH is not set)");

        var home = Directory.CreateTempSubdirectory("composer-home-").FullName;
        Directory.Move(CertPath(), Path.Combine(home, ".docker"));
        var viaHome = Resolve(new() { ["DOCKER_HOST"] = "tcp://d:2376", ["DOCKER_TLS_VERIFY"] = "1", ["HOME"] = home }).Endpoint!;
        await Assert.That(viaHome.Tls!.CaSource).IsEqualTo($"{home}/.docker/ca.pem (default ~/.docker, as DOCKER_CERT_PATH is not set)");
        await Assert.That(viaHome.Tls.ClientCertificateSource).IsEqualTo($"{home}/.docker/cert.pem (default ~/.docker, as DOCKER_CERT_PATH is not set)");
    }

    [Test]
    public async Task A_missing_ca_pem_names_the_variable_the_file_and_what_was_expected()
    {
        var directory = CertPath();
        File.Delete(Path.Combine(directory, "ca.pem"));
        var error = Resolve(new() { ["DOCKER_HOST"] = "tcp://d:2376", ["DOCKER_TLS_VERIFY"] = "1", ["DOCKER_CERT_PATH"] = directory }).Errors.Single();
        await Assert.That(error.Key).IsEqualTo("DOCKER_CERT_PATH");
        await Assert.That(error.Source).IsEqualTo("environment DOCKER_CERT_PATH");
        await Assert.That(error.Message).IsEqualTo(
            $"cannot read {directory}/ca.pem: no such file or directory; expected the CA certificate of the engine's certificate, " +
            "needed because environment DOCKER_TLS_VERIFY asks to verify it");
    }

    [Test]
    public async Task A_ca_pem_that_is_a_directory_says_so()
    {
        var directory = CertPath();
        File.Delete(Path.Combine(directory, "ca.pem"));
        Directory.CreateDirectory(Path.Combine(directory, "ca.pem"));
        var error = Resolve(new() { ["DOCKER_HOST"] = "tcp://d:2376", ["DOCKER_TLS_VERIFY"] = "1", ["DOCKER_CERT_PATH"] = directory }).Errors.Single();
        await Assert.That(error.Message).StartsWith($"cannot read {directory}/ca.pem: is a directory, expected a file");
    }

    [Test]
    public async Task A_DOCKER_CERT_PATH_that_does_not_exist_or_is_a_file_is_an_error()
    {
        var missing = Path.Combine(Directory.CreateTempSubdirectory("composer-cert-path-").FullName, "nope");
        var notThere = Resolve(new() { ["DOCKER_HOST"] = "tcp://d:2376", ["DOCKER_TLS"] = "1", ["DOCKER_CERT_PATH"] = missing }).Errors.Single();
        await Assert.That(notThere.Message).IsEqualTo($"{missing} does not exist; expected a directory holding ca.pem, cert.pem and key.pem");

        var file = Path.Combine(CertPath(), "ca.pem");
        var aFile = Resolve(new() { ["DOCKER_HOST"] = "tcp://d:2376", ["DOCKER_TLS_VERIFY"] = "1", ["DOCKER_CERT_PATH"] = file }).Errors.Single();
        await Assert.That(aFile.Message).IsEqualTo($"{file} is a file, expected a directory holding ca.pem, cert.pem and key.pem");
    }

    [Test]
    public async Task No_home_and_no_DOCKER_CERT_PATH_is_an_error_when_TLS_is_asked_for()
    {
        var settings = new ComposerSettings();
        var resolution = DockerEndpoint.Resolve(settings, ConfigProvenance.None, new Dictionary<string, string> { ["DOCKER_HOST"] = "tcp://d:2376", ["DOCKER_TLS_VERIFY"] = "1" });
        await Assert.That(resolution.Errors.Single().Message).StartsWith("DOCKER_CERT_PATH is not set and there is no home directory (HOME)");
    }

    [Test]
    public async Task A_cert_pem_without_its_key_is_an_error_rather_than_no_certificate()
    {
        var directory = CertPath();
        File.Delete(Path.Combine(directory, "key.pem"));
        var error = Resolve(new() { ["DOCKER_HOST"] = "tcp://d:2376", ["DOCKER_TLS_VERIFY"] = "1", ["DOCKER_CERT_PATH"] = directory }).Errors.Single();
        await Assert.That(error.Message).IsEqualTo($"{directory}/cert.pem exists but {directory}/key.pem does not; the client certificate needs its key (or remove cert.pem to present none)");
    }

    [Test]
    public async Task Without_cert_pem_and_key_pem_no_client_certificate_is_presented()
    {
        var endpoint = Resolve(new() { ["DOCKER_HOST"] = "tcp://d:2376", ["DOCKER_TLS_VERIFY"] = "1", ["DOCKER_CERT_PATH"] = CertPath(client: false) }).Endpoint!;
        await Assert.That(endpoint.Tls!.Endpoint.ClientCertificate).IsNull();
        await Assert.That(endpoint.TlsSummary).EndsWith("; no client certificate");
    }

    [Test]
    [Arguments("pkcs8")]
    [Arguments("pkcs1")]
    [Arguments("ec")]
    public async Task PKCS8_PKCS1_and_EC_keys_give_a_client_certificate_with_a_usable_key(string form)
    {
        string Key(X509Certificate2 certificate) => form == "pkcs8" ? certificate.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem() : certificate.GetRSAPrivateKey()!.ExportRSAPrivateKeyPem();
        var directory = CertPath(keyPem: Key);
        if (form == "ec")
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest("CN=ec-client", key, HashAlgorithmName.SHA256);
            var signedByCa = X509SignatureGenerator.CreateForRSA(Ca.Certificate.GetRSAPrivateKey()!, RSASignaturePadding.Pkcs1);
            using var issued = request.Create(Ca.Certificate.SubjectName, signedByCa, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1), [1, 2, 3, 4]);
            File.WriteAllText(Path.Combine(directory, "cert.pem"), issued.ExportCertificatePem());
            File.WriteAllText(Path.Combine(directory, "key.pem"), key.ExportECPrivateKeyPem());
        }
        var certificate = Resolve(new() { ["DOCKER_HOST"] = "tcp://d:2376", ["DOCKER_TLS_VERIFY"] = "1", ["DOCKER_CERT_PATH"] = directory })
            .Endpoint!.Tls!.Endpoint.ClientCertificate!;
        await Assert.That(certificate.HasPrivateKey).IsTrue();
        // The key signs: what the handshake's CertificateVerify needs.
        var signature = form == "ec"
            ? certificate.GetECDsaPrivateKey()!.SignData([1, 2, 3], HashAlgorithmName.SHA256)
            : certificate.GetRSAPrivateKey()!.SignData([1, 2, 3], HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        await Assert.That(signature.Length).IsGreaterThan(0);
    }

    [Test]
    public async Task An_encrypted_key_is_refused_as_the_docker_CLI_refuses_it()
    {
        var directory = CertPath(keyPem: c => c.GetRSAPrivateKey()!.ExportEncryptedPkcs8PrivateKeyPem("pw",
            new PbeParameters(PbeEncryptionAlgorithm.Aes128Cbc, HashAlgorithmName.SHA256, 1000)));
        var error = Resolve(new() { ["DOCKER_HOST"] = "tcp://d:2376", ["DOCKER_TLS_VERIFY"] = "1", ["DOCKER_CERT_PATH"] = directory }).Errors.Single();
        await Assert.That(error.Message).Contains("the private key is encrypted");
    }

    [Test]
    public async Task A_key_of_another_certificate_is_refused_without_echoing_it()
    {
        using var other = RSA.Create(2048);
        var keyPem = other.ExportPkcs8PrivateKeyPem();
        var directory = CertPath(keyPem: _ => keyPem);
        var error = Resolve(new() { ["DOCKER_HOST"] = "tcp://d:2376", ["DOCKER_TLS_VERIFY"] = "1", ["DOCKER_CERT_PATH"] = directory }).Errors.Single();
        await Assert.That(error.Message).Contains("the private key does not match the client certificate");
        await Assert.That(error.ToString()).DoesNotContain(keyPem.Split('\n')[1]);
    }

    [Test]
    public async Task The_keys_win_over_the_variables()
    {
        using var client = Ca.IssueClient("keys-client");
        var docker = new DockerSettings
        {
            Host = "tcp://from-config:2376",
            Tls = new DockerTlsSettings
            {
                Verify = false,
                Ca = [Ca.CertificatePem],
                Cert = client.ExportCertificatePem(),
                Key = new Composer.Diagnostics.Secret(client.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem()),
            },
        };
        var elsewhere = CertPath();
        File.Delete(Path.Combine(elsewhere, "ca.pem"));
        var endpoint = Resolve(new() { ["DOCKER_HOST"] = "tcp://from-env:2376", ["DOCKER_TLS_VERIFY"] = "1", ["DOCKER_CERT_PATH"] = elsewhere }, docker).Endpoint!;
        await Assert.That(endpoint.Address.Host).IsEqualTo("from-config");
        await Assert.That(endpoint.Tls!.Verify).IsFalse();
        await Assert.That(endpoint.Tls.RequestedBy).IsEqualTo("opencti.daemon.docker.tls.verify (default)");
        await Assert.That(endpoint.Tls.ClientCertificateSource).StartsWith("inline PEM (opencti.daemon.docker.tls.cert");
        await Assert.That(endpoint.Tls.Endpoint.ClientCertificate!.Subject).Contains("CN=keys-client");
    }

    [Test]
    public async Task A_ca_key_alone_turns_TLS_on_with_verification()
    {
        var docker = new DockerSettings { Host = "tcp://d:2376", Tls = new DockerTlsSettings { Ca = [Ca.CertificatePem] } };
        var endpoint = Resolve(new(), docker).Endpoint!;
        await Assert.That(endpoint.Tls!.Verify).IsTrue();
        await Assert.That(endpoint.Tls.CaSource).IsEqualTo("opencti.daemon.docker.tls.ca (default)");
        await Assert.That(endpoint.Tls.Endpoint.TrustedRoots.Count).IsEqualTo(1);
    }

    [Test]
    public async Task A_cert_key_without_the_key_key_names_both()
    {
        using var client = Ca.IssueClient("half");
        var docker = new DockerSettings { Host = "tcp://d:2376", Tls = new DockerTlsSettings { Ca = [Ca.CertificatePem], Cert = client.ExportCertificatePem() } };
        var error = Resolve(new(), docker).Errors.Single();
        await Assert.That(error.Key).IsEqualTo("opencti.daemon.docker.tls.key");
        await Assert.That(error.Message).StartsWith("opencti.daemon.docker.tls.cert is set but opencti.daemon.docker.tls.key is not");
    }

    [Test]
    public async Task A_cert_key_naming_a_directory_says_so()
    {
        var directory = Directory.CreateTempSubdirectory("composer-not-a-cert-").FullName;
        var docker = new DockerSettings { Host = "tcp://d:2376", Tls = new DockerTlsSettings { Ca = [Ca.CertificatePem], Cert = directory, Key = new Composer.Diagnostics.Secret(directory) } };
        var errors = Resolve(new(), docker).Errors;
        await Assert.That(errors.Select(e => e.Key)).IsEquivalentTo(new[] { "opencti.daemon.docker.tls.cert", "opencti.daemon.docker.tls.key" });
        await Assert.That(errors[0].Message).IsEqualTo($"cannot read the client certificate file \"{directory}\": is a directory, expected a file; expected a PEM file or a PEM block");
    }

    [Test]
    public async Task A_key_value_that_is_neither_a_path_nor_PEM_is_not_echoed()
    {
        using var client = Ca.IssueClient("headless");
        var body = string.Concat(client.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem().Split('\n')[1..^1]);
        var docker = new DockerSettings { Host = "tcp://d:2376", Tls = new DockerTlsSettings { Ca = [Ca.CertificatePem], Cert = client.ExportCertificatePem(), Key = new Composer.Diagnostics.Secret(body) } };
        var error = Resolve(new(), docker).Errors.Single();
        await Assert.That(error.Key).IsEqualTo("opencti.daemon.docker.tls.key");
        await Assert.That(error.Message).StartsWith("cannot read the private key file (the value is not shown: it is neither an absolute path nor a PEM block)");
        await Assert.That(error.ToString()).DoesNotContain(body[..40]);
    }

    [Test]
    public async Task The_local_socket_ignores_TLS_as_the_docker_CLI_does()
    {
        var resolution = Resolve(new() { ["DOCKER_HOST"] = "unix:///var/run/docker.sock", ["DOCKER_TLS_VERIFY"] = "1", ["DOCKER_CERT_PATH"] = CertPath() });
        await Assert.That(resolution.Endpoint!.Tls).IsNull();
        await Assert.That(resolution.Endpoint.Transport).IsEqualTo(DockerTransport.UnixSocket);
        var warning = resolution.Warnings.Single();
        await Assert.That(warning.Key).IsEqualTo("DOCKER_TLS_VERIFY");
        await Assert.That(warning.Message).Contains("is a local socket, which is never TLS");
    }

    [Test]
    public async Task Http_with_TLS_asked_for_is_an_error_naming_both()
    {
        var error = Resolve(new() { ["DOCKER_HOST"] = "http://d:2376", ["DOCKER_TLS_VERIFY"] = "1", ["DOCKER_CERT_PATH"] = CertPath() }).Errors.Single();
        await Assert.That(error.Key).IsEqualTo("DOCKER_TLS_VERIFY");
        await Assert.That(error.Message).IsEqualTo("TLS is asked for, but the Docker endpoint http://d:2376 (environment DOCKER_HOST) is plain HTTP (http://); use tcp://d:2376 (or https://)");

        var fromKeys = Load(NewConfigDir(("default.yaml", "opencti:\n  daemon:\n    docker:\n      host: http://d:2375\n      tls:\n        verify: false\n")), BaseEnvironment());
        var keyError = fromKeys.Errors.Single();
        await Assert.That(keyError.Key).IsEqualTo("opencti.daemon.docker.tls.verify");
        await Assert.That(keyError.Source).EndsWith("default.yaml:6:17");
        await Assert.That(keyError.Message).Contains("(configuration opencti.daemon.docker.host) is plain HTTP");
    }

    [Test]
    public async Task Clients_of_a_TLS_endpoint_take_its_trust_and_certificate_through_the_outbound_factory()
    {
        var endpoint = Resolve(new() { ["DOCKER_HOST"] = "tcp://127.0.0.1:1", ["DOCKER_TLS_VERIFY"] = "1", ["DOCKER_CERT_PATH"] = CertPath() }).Endpoint!;
        var handlers = new TestOutboundHandlerFactory();
        using var client = new DockerClientFactory(handlers).Create(endpoint);
        await Assert.That(handlers.Channels.ToArray()).IsEquivalentTo(new[] { OutboundChannel.DockerTcp });
        await Assert.That(handlers.EndpointTrusts.Single()).IsSameReferenceAs(endpoint.Tls!.Endpoint);
    }

    [Test]
    public async Task Through_the_loader_variable_problems_count_only_where_Docker_is_used_and_key_problems_always()
    {
        var directory = CertPath();
        File.Delete(Path.Combine(directory, "ca.pem"));
        var unused = Load(NewConfigDir(), BaseEnvironment(("DOCKER_TLS_VERIFY", "1"), ("DOCKER_CERT_PATH", directory), ("DOCKER_HOST", "tcp://d:2376")));
        await Assert.That(unused.Errors).IsEmpty();
        await Assert.That(unused.Resolved!.Docker.Error!.Key).IsEqualTo("DOCKER_CERT_PATH");

        var used = Load(NewConfigDir(), BaseEnvironment(("DOCKER_TLS_VERIFY", "1"), ("DOCKER_CERT_PATH", directory), ("DOCKER_HOST", "tcp://d:2376"),
            ("OPENCTI__DAEMON__SELECTOR", "docker")));
        await Assert.That(used.Errors.Select(e => e.Key)).IsEquivalentTo(new[] { "DOCKER_CERT_PATH" }).Because(string.Join("; ", used.Errors));

        var missingCa = Path.Combine(directory, "missing-ca.pem");
        var key = Load(NewConfigDir(("default.yaml", $"opencti:\n  daemon:\n    docker:\n      tls:\n        ca: {missingCa}\n")), BaseEnvironment());
        await Assert.That(key.Errors.Count).IsEqualTo(1).Because(string.Join("; ", key.Errors));
        var error = key.Errors[0];
        await Assert.That(error.Key).IsEqualTo("opencti.daemon.docker.tls.ca");
        await Assert.That(error.Source).EndsWith("default.yaml:5:13");
        await Assert.That(error.Message).IsEqualTo($"entry 0 (file {missingCa}): cannot read the CA certificate file: no such file or directory");
    }

    [Test]
    public async Task The_openaev_tls_block_is_reported_as_ignored()
    {
        var r = Load(NewConfigDir(("default.yaml", "openaev:\n  daemon:\n    docker:\n      tls:\n        verify: true\n")), BaseEnvironment());
        var warning = r.Warnings.Single(w => w.Key == "openaev.daemon.docker.tls");
        await Assert.That(warning.Message).Contains("read from opencti.daemon.docker.tls");
        await Assert.That(warning.Source).EndsWith("default.yaml:5:17");
    }
}
