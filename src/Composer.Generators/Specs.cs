using System;
using System.Collections;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace Composer.Generators;

/// <summary>An immutable array compared by content, so specs are value-equatable and incremental caching works.</summary>
internal readonly struct EquatableArray<T> : IEquatable<EquatableArray<T>>, IEnumerable<T>
    where T : IEquatable<T>
{
    private readonly ImmutableArray<T> _items;

    public EquatableArray(ImmutableArray<T> items) => _items = items;

    public ImmutableArray<T> Items => _items.IsDefault ? ImmutableArray<T>.Empty : _items;
    public int Count => Items.Length;
    public T this[int index] => Items[index];

    public bool Equals(EquatableArray<T> other) => Items.SequenceEqual(other.Items);
    public override bool Equals(object? obj) => obj is EquatableArray<T> other && Equals(other);

    public override int GetHashCode()
    {
        var hash = 17;
        foreach (var item in Items) hash = hash * 31 + (item?.GetHashCode() ?? 0);
        return hash;
    }

    public IEnumerator<T> GetEnumerator() => ((IEnumerable<T>)Items).GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

internal enum PropKind
{
    String,
    Bool,
    Int32,
    Int64,
    StringList,
    SectionList,
    StringMap,
    RawJson,
    Section,
}

/// <summary>A source location without Roslyn objects (those must not cross the pipeline).</summary>
internal sealed record LocationSpec(string FilePath, TextSpan Span, LinePositionSpan LineSpan)
{
    public Location ToLocation() => Location.Create(FilePath, Span, LineSpan);

    public static LocationSpec? From(Location? location) =>
        location is null || location.SourceTree is null ? null : new LocationSpec(location.SourceTree.FilePath, location.SourceSpan, location.GetLineSpan().Span);
}

internal sealed record DiagnosticSpec(string Id, string Argument0, string Argument1, string Argument2, LocationSpec? Location);

internal sealed record PropertySpec(
    string Name,
    string Key,
    PropKind Kind,
    bool Nullable,
    string? SectionType,
    bool Secret,
    bool SecretType,
    bool UrlCredentials,
    string? Unit,
    string? Doc,
    EquatableArray<string> Aliases);

internal sealed record TypeSpec(
    string Namespace,
    string Name,
    string FullName,
    bool IsRoot,
    EquatableArray<PropertySpec> Properties,
    EquatableArray<DiagnosticSpec> Diagnostics,
    LocationSpec? Location);
