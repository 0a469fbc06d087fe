using System.Security.Cryptography;
using System.Text;
using Composer.Diagnostics;

namespace Composer.Platform;

/// <summary>
/// Decrypts an encrypted contract value (upstream-behaviour §4): base64 of
/// [1 byte version][RSA block, modulus length][AES-256-GCM ciphertext][16-byte tag]. The RSA block holds the AES key
/// (32 bytes) and the GCM nonce (12 bytes); version 1 is RSAES-PKCS1-v1_5, version 2 RSAES-OAEP with SHA-256 (MGF1
/// SHA-256). Unlike upstream, every failure (including an unknown version or a failed tag check) is a failure, never
/// an empty value; reasons never contain the value or the key. The value is a <see cref="Secret"/> from the moment it
/// is decrypted.
/// </summary>
public static class SecretDecryption
{
    private const int AesKeyLength = 32;
    private const int NonceLength = 12;
    private const int TagLength = 16;
    private const int KeyMaterialLength = AesKeyLength + NonceLength;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The decrypted value, or why it cannot be had (never the value nor the key).</summary>
    public static Result<Secret> Decrypt(ManagerKey key, string encoded)
    {
        var data = new byte[encoded.Length / 4 * 3 + 3];
        if (!Convert.TryFromBase64String(encoded, data, out var length))
        {
            return Failure.Input("the value is not base64");
        }
        var block = key.BlockLength;
        if (length < 1 + block + TagLength)
        {
            return Failure.Input($"the value is too short ({length} bytes; a value for an RSA-{key.KeySizeBits} key has at least {1 + block + TagLength})");
        }
        var padding = data[0] switch
        {
            1 => RSAEncryptionPadding.Pkcs1,
            2 => RSAEncryptionPadding.OaepSHA256,
            _ => null,
        };
        if (padding is null)
        {
            return Failure.Input($"unknown encryption version {data[0]} (expected 1 or 2)");
        }

        byte[] material;
        try
        {
            material = key.Rsa.Decrypt(data.AsSpan(1, block), padding);
        }
        catch (CryptographicException)
        {
            return Failure.Input($"RSA decryption (version {data[0]}) failed: the value was not encrypted for this manager key, or is corrupt");
        }

        var plaintext = Array.Empty<byte>();
        try
        {
            if (material.Length < KeyMaterialLength)
            {
                return Failure.Input($"the RSA block holds {material.Length} bytes of key material, expected at least {KeyMaterialLength}");
            }
            var ciphertext = data.AsSpan(1 + block, length - 1 - block - TagLength);
            var tag = data.AsSpan(length - TagLength, TagLength);
            plaintext = new byte[ciphertext.Length];
            using (var aes = new AesGcm(material.AsSpan(0, AesKeyLength), TagLength))
            {
                aes.Decrypt(material.AsSpan(AesKeyLength, NonceLength), ciphertext, tag, plaintext);
            }
            return Result<Secret>.Success(new Secret(StrictUtf8.GetString(plaintext)));
        }
        catch (CryptographicException)
        {
            return Failure.Input("AES-GCM authentication failed: the value is corrupt or was altered");
        }
        catch (DecoderFallbackException)
        {
            return Failure.Input("the decrypted value is not UTF-8 text");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(material);
            CryptographicOperations.ZeroMemory(plaintext);
            CryptographicOperations.ZeroMemory(data);
        }
    }
}
