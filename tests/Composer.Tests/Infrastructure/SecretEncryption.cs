using System.Security.Cryptography;
using System.Text;

namespace Composer.Tests.Infrastructure;

/// <summary>
/// What the platform does to a secret contract value (upstream-behaviour §4), for the stand-ins and for tests that
/// craft broken values: base64([version][RSA block][AES-256-GCM ciphertext][16-byte tag]), the RSA block holding
/// the AES key (32 bytes) and the GCM nonce (12 bytes).
/// </summary>
public static class SecretEncryption
{
    /// <param name="version">1: RSA PKCS#1 v1.5; 2: RSA OAEP-SHA256.</param>
    public static string Encrypt(RSA publicKey, string plaintext, int version)
    {
        var material = RandomNumberGenerator.GetBytes(44);
        return Assemble(publicKey, (byte)version, Padding(version), material, Seal(material, Encoding.UTF8.GetBytes(plaintext)));
    }

    public static RSAEncryptionPadding Padding(int version) => version switch
    {
        1 => RSAEncryptionPadding.Pkcs1,
        2 => RSAEncryptionPadding.OaepSHA256,
        _ => throw new ArgumentOutOfRangeException(nameof(version), version, "the platform encrypts with version 1 or 2"),
    };

    /// <summary>AES-256-GCM with the key and nonce of <paramref name="material"/>: ciphertext followed by the tag.</summary>
    public static byte[] Seal(byte[] material, byte[] plaintext)
    {
        var sealedValue = new byte[plaintext.Length + 16];
        using var aes = new AesGcm(material.AsSpan(0, 32), 16);
        aes.Encrypt(material.AsSpan(32, 12), plaintext, sealedValue.AsSpan(0, plaintext.Length), sealedValue.AsSpan(plaintext.Length));
        return sealedValue;
    }

    /// <summary>The wire form from its parts, any of which may be wrong on purpose.</summary>
    public static string Assemble(RSA publicKey, byte versionByte, RSAEncryptionPadding padding, byte[] material, byte[] sealedValue)
    {
        var block = publicKey.Encrypt(material, padding);
        var all = new byte[1 + block.Length + sealedValue.Length];
        all[0] = versionByte;
        block.CopyTo(all, 1);
        sealedValue.CopyTo(all, 1 + block.Length);
        return Convert.ToBase64String(all);
    }
}
