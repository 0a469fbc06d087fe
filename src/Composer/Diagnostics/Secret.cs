using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Composer.Diagnostics;

/// <summary>
/// A value that must never be printed: a token, a password, an API key, a decrypted contract value, proxy credentials.
/// It is held in this type from the moment it is bound or decrypted; <see cref="ToString"/> and every formatting
/// (interpolation, concatenation, log fields, JSON of an object holding one) give <see cref="Mask"/>, and
/// <see cref="Reveal"/> gives the value only where it is used: an HTTP header, an environment variable sent to the
/// orchestrator, a file written for the kubelet. Every secret is known to <see cref="SecretScrubber.Shared"/> while it
/// lives, so that the same value coming back inside an engine's, a registry's or a platform's text is masked too.
/// </summary>
[DebuggerDisplay(Mask)]
public sealed class Secret : IEquatable<Secret>
{
    /// <summary>What every secret looks like wherever it is shown: the one definition of the mask.</summary>
    public const string Mask = "***";

    private readonly string _value;

    public Secret(string value)
        : this(value, scrubbed: true)
    {
    }

    private Secret(string value, bool scrubbed)
    {
        ArgumentNullException.ThrowIfNull(value);
        _value = value;
        if (scrubbed) SecretScrubber.Shared.Add(this);
    }

    /// <summary>
    /// A well-known default that protects nothing (the settings' "ChangeMe"): masked wherever it is shown like any
    /// secret, but not searched for in text, where the word would be masked in the messages that name the placeholder.
    /// </summary>
    public static Secret Placeholder(string value) => new(value, scrubbed: false);

    /// <summary>A secret holding <paramref name="value"/>, or null for null (settings binders, optional keys).</summary>
    public static Secret? From(string? value) => value is null ? null : new Secret(value);

    /// <summary>The value itself, for the one place it is sent. Never log, format or keep the result.</summary>
    public string Reveal() => _value;

    public bool IsEmpty => _value.Length == 0;

    public override string ToString() => Mask;

    /// <summary>Same value (compared in constant time: equality says nothing about where two values differ).</summary>
    public bool Equals(Secret? other)
    {
        if (other is null) return false;
        if (ReferenceEquals(this, other)) return true;
        return _value.Length == other._value.Length
               && CryptographicOperations.FixedTimeEquals(MemoryMarshalBytes(_value), MemoryMarshalBytes(other._value));
    }

    public override bool Equals(object? obj) => obj is Secret other && Equals(other);

    public override int GetHashCode() => _value.Length;

    public static bool operator ==(Secret? left, Secret? right) => left is null ? right is null : left.Equals(right);

    public static bool operator !=(Secret? left, Secret? right) => !(left == right);

    private static ReadOnlySpan<byte> MemoryMarshalBytes(string text) => MemoryMarshal.AsBytes(text.AsSpan());
}
