using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.Linq;
using System.Text;
using Microsoft.CodeAnalysis;

namespace Composer.Generators;

/// <summary>Writes the generated source for the parsed specs.</summary>
internal static class Emitter
{
    private const string Rt = "global::Composer.Configuration.";

    public static void Emit(SourceProductionContext context, ImmutableArray<TypeSpec> specs)
    {
        var hasErrors = false;
        foreach (var spec in specs)
        {
            foreach (var d in spec.Diagnostics)
            {
                context.ReportDiagnostic(Diagnostic.Create(Diagnostics.ById(d.Id), d.Location?.ToLocation(), d.Argument0, d.Argument1, d.Argument2));
                hasErrors = true;
            }
        }
        if (hasErrors) return;

        var model = new Model(specs);
        foreach (var spec in specs)
        {
            if (!model.CheckCycles(spec, new List<string>(), out var cycleThrough))
            {
                context.ReportDiagnostic(Diagnostic.Create(Diagnostics.Cycle, spec.Location?.ToLocation(), spec.Name, cycleThrough));
                return;
            }
        }
        foreach (var spec in specs.OrderBy(s => s.FullName, System.StringComparer.Ordinal))
        {
            context.AddSource(spec.Name + ".ConfigBinding.g.cs", EmitType(model, spec));
        }
    }

    internal sealed class Model
    {
        private readonly Dictionary<string, TypeSpec> _types;
        private readonly Dictionary<string, int> _slotCounts = new();

        public Model(ImmutableArray<TypeSpec> specs)
        {
            _types = new Dictionary<string, TypeSpec>();
            foreach (var s in specs) _types[s.FullName] = s;
        }

        public TypeSpec Type(string sectionType) => _types[sectionType.StartsWith("global::") ? sectionType.Substring(8) : sectionType];

        public bool CheckCycles(TypeSpec spec, List<string> stack, out string through)
        {
            through = "";
            if (stack.Contains(spec.FullName))
            {
                through = string.Join(" -> ", stack);
                return false;
            }
            stack.Add(spec.FullName);
            foreach (var p in spec.Properties)
            {
                if (p.Kind is PropKind.Section or PropKind.SectionList && !CheckCycles(Type(p.SectionType!), stack, out through)) return false;
            }
            stack.RemoveAt(stack.Count - 1);
            return true;
        }

        /// <summary>Key-table entries of a type: itself plus every property, sections expanded (list items are one entry).</summary>
        public int SlotCount(TypeSpec spec)
        {
            if (_slotCounts.TryGetValue(spec.FullName, out var n)) return n;
            n = 1;
            foreach (var p in spec.Properties) n += p.Kind == PropKind.Section ? SlotCount(Type(p.SectionType!)) : 1;
            _slotCounts[spec.FullName] = n;
            return n;
        }

        public int Offset(TypeSpec spec, PropertySpec property)
        {
            var offset = 1;
            foreach (var p in spec.Properties)
            {
                if (p == property) return offset;
                offset += p.Kind == PropKind.Section ? SlotCount(Type(p.SectionType!)) : 1;
            }
            return -1;
        }
    }

    private static string Lit(string? s)
    {
        if (s is null) return "null";
        var sb = new StringBuilder("\"");
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                default: sb.Append(c); break;
            }
        }
        return sb.Append('"').ToString();
    }

    private static string Bool(bool b) => b ? "true" : "false";
    private static string Int(int i) => i.ToString(CultureInfo.InvariantCulture);
    private static string Join(string prefix, string key) => prefix.Length == 0 ? key : prefix + "." + key;

    /// <summary>What is assigned to a string-bound property: the text, or a Secret holding it.</summary>
    private static string Held(PropertySpec p, string text) =>
        !p.SecretType ? text : p.Nullable ? $"global::Composer.Diagnostics.Secret.From({text})" : $"new global::Composer.Diagnostics.Secret({text})";

    /// <summary>A string-bound property's text, for the writers (which mask secrets themselves) and the reference's defaults.</summary>
    private static string Text(PropertySpec p, string owner) => p.SecretType ? $"{owner}.{p.Name}?.Reveal()" : $"{owner}.{p.Name}";

    private static string SecretMode(PropertySpec p) =>
        Rt + "SecretMode." + (!p.Secret ? "None" : p.UrlCredentials ? "UrlCredentials" : "Full");

    private static string SlotKind(PropKind kind) => Rt + "SlotKind." + kind switch
    {
        PropKind.Section => "Section",
        PropKind.String => "String",
        PropKind.Bool => "Bool",
        PropKind.Int32 => "Int32",
        PropKind.Int64 => "Int64",
        PropKind.StringList => "StringList",
        PropKind.SectionList => "SectionList",
        PropKind.StringMap => "StringMap",
        _ => "RawJson",
    };

    private sealed class Writer
    {
        private readonly StringBuilder _sb = new();
        private int _indent;

        public Writer Line(string text = "")
        {
            if (text.Length == 0)
            {
                _sb.Append('\n');
                return this;
            }
            if (text.StartsWith("}")) _indent--;
            _sb.Append(' ', _indent * 4).Append(text).Append('\n');
            if (text.EndsWith("{")) _indent++;
            return this;
        }

        public override string ToString() => _sb.ToString();
    }

    private static string EmitType(Model model, TypeSpec spec)
    {
        var w = new Writer();
        w.Line("// <auto-generated/> by Composer.Generators.ConfigBinderGenerator. Do not edit.");
        w.Line("#nullable enable");
        w.Line();
        if (spec.Namespace.Length > 0)
        {
            w.Line($"namespace {spec.Namespace};");
            w.Line();
        }
        w.Line($"partial class {spec.Name}");
        w.Line("{");
        w.Line("/// <summary>Key-table entries of this section (itself included).</summary>");
        w.Line($"internal const int ConfigSlotCount = {Int(model.SlotCount(spec))};");
        w.Line();
        EmitSlots(w, model, spec);
        EmitFileBinder(w, model, spec, FileFormat.Yaml);
        EmitFileBinder(w, model, spec, FileFormat.Json);
        EmitEnv(w, model, spec);
        EmitAliasHooks(w, model, spec);
        EmitWriteJson(w, model, spec);
        EmitWriteYaml(w, model, spec);
        if (spec.IsRoot)
        {
            EmitMarkdown(w, model, spec);
            EmitSchema(w, model, spec);
        }
        w.Line("}");
        return w.ToString();
    }

    // ---- key table -------------------------------------------------------------------------------------------

    private static void EmitSlots(Writer w, Model model, TypeSpec spec)
    {
        w.Line("/// <summary>The key table: paths relative to this section, parents as indexes into this table.</summary>");
        w.Line($"internal static readonly {Rt}ConfigSlot[] ConfigSlots =");
        w.Line("[");
        var rows = new List<string>();
        rows.Add($"new(\"\", \"\", -1, {SlotKind(PropKind.Section)}, false, false, false, null, null, [])");
        ExpandSlots(model, spec, "", 0, rows);
        foreach (var row in rows) w.Line("    " + row + ",");
        w.Line("];");
        w.Line();
    }

    private static void ExpandSlots(Model model, TypeSpec spec, string prefix, int self, List<string> rows)
    {
        foreach (var p in spec.Properties)
        {
            var path = Join(prefix, p.Key);
            var aliases = string.Join(", ", p.Aliases.Select(a => Lit(Join(prefix, a))));
            var index = rows.Count;
            rows.Add($"new({Lit(path)}, {Lit(p.Key)}, {Int(self)}, {SlotKind(p.Kind)}, {Bool(p.Nullable)}, {Bool(p.Secret)}, {Bool(p.UrlCredentials)}, {Lit(p.Unit)}, {Lit(p.Doc)}, [{aliases}])");
            if (p.Kind == PropKind.Section) ExpandSlots(model, model.Type(p.SectionType!), path, index, rows);
        }
    }

    // ---- shared by the binders ----------------------------------------------------------------------------------

    private static IEnumerable<(PropertySpec Target, string Alias)> AliasesThrough(TypeSpec spec, string sectionKey) =>
        from p in spec.Properties
        from a in p.Aliases
        where a.Contains('.') && a.Substring(0, a.IndexOf('.')) == sectionKey
        select (p, a.Substring(a.IndexOf('.') + 1));

    /// <summary>The expression of a property's key-table index, relative to the section's own slot.</summary>
    private static string SlotOf(Model model, TypeSpec spec, PropertySpec p) => $"slot + {Int(model.Offset(spec, p))}";

    /// <summary>
    /// The switch cases of a binder: every property under its key and its aliases within the same section, with
    /// the property's slot expression.
    /// </summary>
    private static IEnumerable<(PropertySpec Property, string Slot, string Label)> KeyCases(Model model, TypeSpec spec) =>
        from p in spec.Properties
        from label in new[] { p.Key }.Concat(p.Aliases.Where(a => !a.Contains('.')))
        select (p, SlotOf(model, spec, p), label);

    /// <summary>The path a key was spelled with (alias or canonical), for the spelling note.</summary>
    private static string LabelPath(string label) => $"ctx.PathOf(slot) is \"\" ? {Lit(label)} : ctx.PathOf(slot) + {Lit("." + label)}";

    /// <summary>How a section property is read from its parent when it may be null (sections are then created with defaults).</summary>
    private static string SectionExpr(PropertySpec p, string parentExpr) =>
        p.Nullable ? $"({parentExpr}.{p.Name} ?? new {p.SectionType}())" : $"{parentExpr}.{p.Name}";

    private static string SpellingValue(PropertySpec p, string v) => p.Kind switch
    {
        PropKind.Bool => $"({v} ? \"true\" : \"false\")",
        PropKind.Int32 or PropKind.Int64 => $"{v}.ToString(global::System.Globalization.CultureInfo.InvariantCulture)",
        _ => p.Secret ? "global::Composer.Diagnostics.Secret.Mask" : $"({v} ?? \"null\")",
    };

    /// <summary>Reads a scalar into the property; the reader call is source-specific.</summary>
    private static void ScalarAssign(Writer w, PropertySpec p, string read, string outVar, string? spelling)
    {
        w.Line($"if ({read})");
        w.Line("{");
        var value = p.Kind switch
        {
            PropKind.String => Held(p, p.Nullable ? outVar : outVar + "!"),
            _ => p.Nullable ? outVar : outVar + "!.Value",
        };
        w.Line($"target.{p.Name} = {value};");
        if (spelling is not null) w.Line(spelling);
        w.Line("}");
    }

    private static string FileSpelling(PropertySpec p, string slot, string spellingPath, string valueVar, string where) =>
        $"ctx.NoteSpelling({slot}, {spellingPath}, {SpellingValue(p, p.Kind == PropKind.String ? valueVar : valueVar + "!.Value")}, {where});";

    // ---- YAML and JSON files ------------------------------------------------------------------------------------

    /// <summary>What differs between the YAML and the JSON binder: the runtime helpers, the reader and the key position.</summary>
    private sealed class FileFormat
    {
        public static readonly FileFormat Yaml = new()
        {
            Name = "Yaml",
            Reader = "parser",
            ReaderParameter = "global::YamlDotNet.Core.IParser parser",
            KeyPosition = "mark",
            KeyPositionParameter = "global::YamlDotNet.Core.Mark mark",
            Where = $"ctx.CurrentWhere({Rt}YamlBind.Line(mark), {Rt}YamlBind.Column(mark))",
            IsContainer = "isMapping",
            HookParameters = "(k, m, pr, c, st, sl)",
            HookArguments = "k, m, pr, c, sl",
            Summary = "/// <summary>Binds the keys of a YAML mapping (positioned after MappingStart, consumes MappingEnd).</summary>",
            KeyLoop =
            [
                $"while (!{Rt}YamlBind.AtMappingEnd(parser))",
                "{",
                $"if (!{Rt}YamlBind.ReadKey(parser, ctx, slot, out var key, out var mark)) continue;",
            ],
        };

        public static readonly FileFormat Json = new()
        {
            Name = "Json",
            Reader = "ref reader",
            ReaderParameter = "ref global::System.Text.Json.Utf8JsonReader reader",
            KeyPosition = "keyOffset",
            KeyPositionParameter = "long keyOffset",
            Where = "ctx.CurrentWhereJson(keyOffset)",
            IsContainer = "isObject",
            HookParameters = $"(string k, long o, ref global::System.Text.Json.Utf8JsonReader r, {Rt}BindContext c, object st, int sl)",
            HookArguments = "k, o, ref r, c, sl",
            Summary = "/// <summary>Binds the properties of a JSON object (positioned on StartObject, ends on EndObject).</summary>",
            KeyLoop =
            [
                $"while ({Rt}JsonBind.NextKey(ref reader, out var key, out var keyOffset))",
                "{",
            ],
        };

        /// <summary>"Yaml" or "Json": names ConfigBind*, ConfigAlias*_, *Bind and *KeyHook.</summary>
        public string Name { get; private set; } = "";
        public string Bind => Rt + Name + "Bind";
        /// <summary>The reader as an argument.</summary>
        public string Reader { get; private set; } = "";
        public string ReaderParameter { get; private set; } = "";
        /// <summary>Where the current key stands (a YAML mark, a JSON byte offset).</summary>
        public string KeyPosition { get; private set; } = "";
        public string KeyPositionParameter { get; private set; } = "";
        /// <summary>The location expression for spelling notes.</summary>
        public string Where { get; private set; } = "";
        public string IsContainer { get; private set; } = "";
        public string HookParameters { get; private set; } = "";
        public string HookArguments { get; private set; } = "";
        public string Summary { get; private set; } = "";
        /// <summary>Opens the loop over the keys, leaving `key` and the key position in scope.</summary>
        public string[] KeyLoop { get; private set; } = [];

        public string ScalarRead(PropertySpec p, string slot, string outVar) => p.Kind switch
        {
            PropKind.String => $"{Bind}.ReadString({Reader}, ctx, {slot}, {Bool(p.Nullable)}, out var {outVar})",
            PropKind.Bool => $"{Bind}.ReadBool({Reader}, ctx, {slot}, {Bool(p.Nullable)}, out var {outVar})",
            PropKind.Int32 => $"{Bind}.ReadInt32({Reader}, ctx, {slot}, {Bool(p.Nullable)}, out var {outVar})",
            _ => $"{Bind}.ReadInt64({Reader}, ctx, {slot}, {Bool(p.Nullable)}, long.MinValue, long.MaxValue, out var {outVar})",
        };
    }

    private static void EmitFileBinder(Writer w, Model model, TypeSpec spec, FileFormat f)
    {
        w.Line(f.Summary);
        w.Line($"internal static void ConfigBind{f.Name}({f.ReaderParameter}, {spec.Name} target, int slot, {Rt}BindContext ctx, {Rt}{f.Name}KeyHook? hook, object? hookState)");
        w.Line("{");
        foreach (var line in f.KeyLoop) w.Line(line);
        w.Line("switch (key)");
        w.Line("{");
        foreach (var (p, slot, label) in KeyCases(model, spec))
        {
            w.Line($"case {Lit(label)}:");
            w.Line("{");
            var spelling = p.Aliases.Count > 0 ? FileSpelling(p, slot, LabelPath(label), "v", f.Where) : null;
            EmitFileValue(w, spec, p, slot, spelling, f);
            w.Line("break;");
            w.Line("}");
        }
        w.Line("default:");
        w.Line($"if (hook is null || !hook(key, {f.KeyPosition}, {f.Reader}, ctx, hookState!, slot)) {f.Bind}.UnknownKey({f.Reader}, ctx, slot, key, {f.KeyPosition});");
        w.Line("break;");
        w.Line("}");
        w.Line("}");
        w.Line("}");
        w.Line();
    }

    private static void EmitFileValue(Writer w, TypeSpec spec, PropertySpec p, string slot, string? spelling, FileFormat f)
    {
        switch (p.Kind)
        {
            case PropKind.String or PropKind.Bool or PropKind.Int32 or PropKind.Int64:
                ScalarAssign(w, p, f.ScalarRead(p, slot, "v"), "v", spelling);
                break;
            case PropKind.StringList:
                w.Line($"if ({f.Bind}.ReadStringList({f.Reader}, ctx, {slot}, out var v)) target.{p.Name} = v;");
                break;
            case PropKind.StringMap:
                w.Line($"if ({f.Bind}.ReadStringMap({f.Reader}, ctx, {slot}, target.{p.Name}, out var v)) target.{p.Name} = v;");
                break;
            case PropKind.RawJson:
                w.Line($"if ({f.Bind}.ReadRawJson({f.Reader}, ctx, {slot}, out var v)) target.{p.Name} = v;");
                break;
            case PropKind.SectionList:
                w.Line($"if ({f.Bind}.ReadSectionList({f.Reader}, ctx, {slot}, {p.SectionType}.ConfigSlots, static () => new {p.SectionType}(), {p.SectionType}.ConfigBind{f.Name}, out var v)) target.{p.Name} = v;");
                break;
            case PropKind.Section:
                var hook = AliasesThrough(spec, p.Key).Any()
                    ? $"static {f.HookParameters} => ConfigAlias{f.Name}_{p.Name}(({spec.Name})st, {f.HookArguments}), target"
                    : "null, null";
                w.Line($"if ({f.Bind}.EnterSection({f.Reader}, ctx, {slot}, out var {f.IsContainer}))");
                w.Line("{");
                w.Line($"if ({f.IsContainer})");
                w.Line("{");
                w.Line($"var section = target.{p.Name} ??= new {p.SectionType}();");
                w.Line($"{p.SectionType}.ConfigBind{f.Name}({f.Reader}, section, {slot}, ctx, {hook});");
                w.Line("}");
                // An explicit null removes an optional section (as upstream); "swarm: {}" keeps it with defaults.
                if (p.Nullable) w.Line($"else target.{p.Name} = null;");
                w.Line("}");
                break;
        }
    }

    // ---- environment --------------------------------------------------------------------------------------------

    private static string EnvScalarRead(PropertySpec p, string slot, string outVar) => p.Kind switch
    {
        PropKind.String => $"{Rt}EnvBind.ReadString(e, ctx, {slot}, out var {outVar})",
        PropKind.Bool => $"{Rt}EnvBind.ReadBool(e, ctx, {slot}, out var {outVar})",
        PropKind.Int32 => $"{Rt}EnvBind.ReadInt32(e, ctx, {slot}, out var {outVar})",
        _ => $"{Rt}EnvBind.ReadInt64(e, ctx, {slot}, long.MinValue, long.MaxValue, out var {outVar})",
    };

    private static void EnvScalar(Writer w, PropertySpec p, string slot, string? spellingPath)
    {
        w.Line($"if ({EnvScalarRead(p, slot, "v")})");
        w.Line("{");
        w.Line($"target.{p.Name} = {(p.Kind == PropKind.String ? Held(p, "v") : "v")};");
        if (spellingPath is not null) w.Line($"ctx.NoteSpelling({slot}, {spellingPath}, {SpellingValue(p, "v")}, \"environment \" + e.Name);");
        w.Line("}");
    }

    /// <summary>The variable names the whole value (no further segment): bind it and stop.</summary>
    private static void EnvWhole(Writer w, string bind)
    {
        w.Line("if (last)");
        w.Line("{");
        w.Line(bind);
        w.Line("return true;");
        w.Line("}");
    }

    private static void EmitEnv(Writer w, Model model, TypeSpec spec)
    {
        w.Line("/// <summary>Binds one environment variable from segment <paramref name=\"index\"/> on; false when no key matches.</summary>");
        w.Line($"internal static bool ConfigBindEnv({spec.Name} target, int slot, {Rt}EnvVar e, int index, {Rt}BindContext ctx)");
        w.Line("{");
        w.Line("var last = index == e.Segments.Length - 1;");
        w.Line("switch (e.Segments[index])");
        w.Line("{");
        foreach (var (p, slot, label) in KeyCases(model, spec))
        {
            w.Line($"case {Lit(label)}:");
            w.Line("{");
            EmitEnvValue(w, model, spec, p, slot, p.Aliases.Count > 0 ? LabelPath(label) : null);
            w.Line("}");
            if (p.Secret && p.Kind == PropKind.String)
            {
                w.Line($"case {Lit(label + "_file")}:");
                w.Line("{");
                w.Line("if (!last) return false;");
                w.Line($"if ({Rt}EnvBind.ReadSecretFile(e, ctx, {slot}, out var v)) target.{p.Name} = {Held(p, "v")};");
                w.Line("return true;");
                w.Line("}");
            }
        }
        w.Line("}");
        w.Line("return false;");
        w.Line("}");
        w.Line();
    }

    private static void EmitEnvValue(Writer w, Model model, TypeSpec spec, PropertySpec p, string slot, string? spellingPath)
    {
        switch (p.Kind)
        {
            case PropKind.String or PropKind.Bool or PropKind.Int32 or PropKind.Int64:
                w.Line("if (!last) return false;");
                EnvScalar(w, p, slot, spellingPath);
                w.Line("return true;");
                break;
            case PropKind.StringList:
                EnvWhole(w, $"if ({Rt}EnvBind.ReadStringList(e, ctx, {slot}, out var v)) target.{p.Name} = v;");
                w.Line("if (index + 2 != e.Segments.Length) return false;");
                w.Line($"target.{p.Name} = {Rt}EnvBind.IndexedListItem(e, ctx, {slot}, index + 1, target.{p.Name});");
                w.Line("return true;");
                break;
            case PropKind.StringMap:
                EnvWhole(w, $"if ({Rt}EnvBind.ReadStringMap(e, ctx, {slot}, target.{p.Name}, out var v)) target.{p.Name} = v;");
                w.Line($"target.{p.Name} = {Rt}EnvBind.MapEntry(e, ctx, {slot}, index + 1, target.{p.Name});");
                w.Line("return true;");
                break;
            case PropKind.RawJson:
                w.Line("if (!last) return false;");
                w.Line($"if ({Rt}EnvBind.ReadRawJson(e, ctx, {slot}, out var v)) target.{p.Name} = v;");
                w.Line("return true;");
                break;
            case PropKind.SectionList:
                EnvWhole(w, $"if ({Rt}EnvBind.ReadSectionListJson(e, ctx, {slot}, {p.SectionType}.ConfigSlots, static () => new {p.SectionType}(), {p.SectionType}.ConfigBindJson, out var v)) target.{p.Name} = v;");
                w.Line($"var list = target.{p.Name};");
                w.Line($"var item = {Rt}EnvBind.SectionListItem(e, ctx, {slot}, index + 1, ref list, static () => new {p.SectionType}());");
                w.Line($"target.{p.Name} = list;");
                w.Line("if (item is null) return true;");
                w.Line($"var saved = ctx.EnterItem(ctx.PathOf({slot}) + \"[\" + e.Segments[index + 1] + \"]\", {p.SectionType}.ConfigSlots);");
                w.Line("try");
                w.Line("{");
                w.Line($"return {p.SectionType}.ConfigBindEnv(item, 0, e, index + 2, ctx);");
                w.Line("}");
                w.Line("finally");
                w.Line("{");
                w.Line("ctx.ExitItem(saved);");
                w.Line("}");
                break;
            case PropKind.Section:
                EnvWhole(w, $"{Rt}EnvBind.SectionValue(e, ctx, {slot});");
                var aliases = AliasesThrough(spec, p.Key).ToList();
                if (aliases.Count > 0)
                {
                    w.Line("if (index + 2 == e.Segments.Length)");
                    w.Line("{");
                    w.Line("switch (e.Segments[index + 1])");
                    w.Line("{");
                    foreach (var (target, alias) in aliases)
                    {
                        w.Line($"case {Lit(alias)}:");
                        w.Line("{");
                        w.Line($"target.{p.Name} ??= new {p.SectionType}();");
                        EnvScalar(w, target, SlotOf(model, spec, target), $"ctx.PathOf({slot}) + {Lit("." + alias)}");
                        w.Line("return true;");
                        w.Line("}");
                    }
                    w.Line("}");
                    w.Line("}");
                }
                w.Line($"return {p.SectionType}.ConfigBindEnv(target.{p.Name} ??= new {p.SectionType}(), {slot}, e, index + 1, ctx);");
                break;
        }
    }

    // ---- alias hooks (a key written inside a child section that belongs to this type) ---------------------------

    private static void EmitAliasHooks(Writer w, Model model, TypeSpec spec)
    {
        foreach (var section in spec.Properties.Where(p => p.Kind == PropKind.Section))
        {
            var aliases = AliasesThrough(spec, section.Key).ToList();
            if (aliases.Count == 0) continue;
            EmitAliasHook(w, model, spec, section, aliases, FileFormat.Yaml);
            EmitAliasHook(w, model, spec, section, aliases, FileFormat.Json);
        }
    }

    private static void EmitAliasHook(Writer w, Model model, TypeSpec spec, PropertySpec section, List<(PropertySpec Target, string Alias)> aliases, FileFormat f)
    {
        w.Line($"private static bool ConfigAlias{f.Name}_{section.Name}({spec.Name} target, string key, {f.KeyPositionParameter}, {f.ReaderParameter}, {Rt}BindContext ctx, int sectionSlot)");
        w.Line("{");
        w.Line($"var slot = sectionSlot - {Int(model.Offset(spec, section))};");
        w.Line("switch (key)");
        w.Line("{");
        foreach (var (target, alias) in aliases)
        {
            var slot = SlotOf(model, spec, target);
            w.Line($"case {Lit(alias)}:");
            w.Line("{");
            ScalarAssign(w, target, f.ScalarRead(target, slot, "v"), "v",
                FileSpelling(target, slot, $"ctx.PathOf(sectionSlot) + {Lit("." + alias)}", "v", f.Where));
            w.Line("return true;");
            w.Line("}");
        }
        w.Line("}");
        w.Line("return false;");
        w.Line("}");
        w.Line();
    }

    // ---- writers -------------------------------------------------------------------------------------------------

    /// <summary>A section (list) is written when set; <paramref name="whenNull"/> writes an explicit null otherwise.</summary>
    private static void IfSet(Writer w, PropertySpec p, string whenNull, params string[] body)
    {
        w.Line($"if (v.{p.Name} is {{ }} {Camel(p.Name)})");
        w.Line("{");
        foreach (var line in body) w.Line(line);
        w.Line("}");
        w.Line(whenNull);
    }

    private static void EmitWriteJson(Writer w, Model model, TypeSpec spec)
    {
        w.Line("/// <summary>Writes the section as a JSON object; secrets are masked when <paramref name=\"redact\"/> is true.</summary>");
        w.Line($"internal static void ConfigWriteJson(global::System.Text.Json.Utf8JsonWriter w, {spec.Name} v, bool redact)");
        w.Line("{");
        w.Line("w.WriteStartObject();");
        foreach (var p in spec.Properties)
        {
            var k = Lit(p.Key);
            switch (p.Kind)
            {
                case PropKind.String: w.Line($"{Rt}ConfigOutput.WriteString(w, {k}, {Text(p, "v")}, {SecretMode(p)}, redact);"); break;
                case PropKind.Bool: w.Line($"{Rt}ConfigOutput.WriteBool(w, {k}, v.{p.Name});"); break;
                case PropKind.Int32 or PropKind.Int64: w.Line($"{Rt}ConfigOutput.WriteNumber(w, {k}, v.{p.Name});"); break;
                case PropKind.StringList: w.Line($"{Rt}ConfigOutput.WriteStringList(w, {k}, v.{p.Name});"); break;
                case PropKind.StringMap: w.Line($"{Rt}ConfigOutput.WriteMap(w, {k}, v.{p.Name});"); break;
                case PropKind.RawJson: w.Line($"{Rt}ConfigOutput.WriteRawJson(w, {k}, v.{p.Name});"); break;
                case PropKind.Section:
                    IfSet(w, p, $"else w.WriteNull({k});",
                        $"w.WritePropertyName({k});",
                        $"{p.SectionType}.ConfigWriteJson(w, {Camel(p.Name)}, redact);");
                    break;
                case PropKind.SectionList:
                    IfSet(w, p, $"else w.WriteNull({k});",
                        $"w.WriteStartArray({k});",
                        $"foreach (var item in {Camel(p.Name)}) {p.SectionType}.ConfigWriteJson(w, item, redact);",
                        "w.WriteEndArray();");
                    break;
            }
        }
        w.Line("w.WriteEndObject();");
        w.Line("}");
        w.Line();
    }

    private static string Camel(string name) => "the" + name;

    private static void EmitWriteYaml(Writer w, Model model, TypeSpec spec)
    {
        w.Line("/// <summary>Writes the section's keys as YAML; secrets are masked when <paramref name=\"redact\"/> is true.</summary>");
        w.Line($"internal static void ConfigWriteYaml({Rt}YamlOut o, {spec.Name} v, int slot, bool redact)");
        w.Line("{");
        foreach (var p in spec.Properties)
        {
            var k = Lit(p.Key);
            var slot = SlotOf(model, spec, p);
            switch (p.Kind)
            {
                case PropKind.String: w.Line($"o.String({k}, {Text(p, "v")}, {slot}, {SecretMode(p)}, redact);"); break;
                case PropKind.Bool: w.Line($"o.Bool({k}, v.{p.Name}, {slot});"); break;
                case PropKind.Int32 or PropKind.Int64: w.Line($"o.Number({k}, v.{p.Name}, {slot});"); break;
                case PropKind.StringList: w.Line($"o.StringList({k}, v.{p.Name}, {slot});"); break;
                case PropKind.StringMap: w.Line($"o.Map({k}, v.{p.Name}, {slot});"); break;
                case PropKind.RawJson: w.Line($"o.Raw({k}, v.{p.Name}, {slot});"); break;
                case PropKind.Section:
                    IfSet(w, p, $"else o.Null({k}, {slot});",
                        $"o.BeginSection({k}, {slot});",
                        $"{p.SectionType}.ConfigWriteYaml(o, {Camel(p.Name)}, {slot}, redact);",
                        "o.EndSection();");
                    break;
                case PropKind.SectionList:
                    IfSet(w, p, $"else o.Null({k}, {slot});",
                        $"o.BeginItems({k}, {slot});",
                        $"foreach (var item in {Camel(p.Name)})",
                        "{",
                        "o.BeginItem();",
                        $"{p.SectionType}.ConfigWriteYaml(o, item, 0, redact);",
                        "o.EndItem();",
                        "}",
                        "o.EndItems();");
                    break;
            }
        }
        w.Line("}");
        w.Line();
    }

    // ---- Markdown reference (root only, unrolled with full paths) ----------------------------------------------

    private static string Env(string path) => path.Replace(".", "__").ToUpperInvariant().Replace("[]", "__<n>");

    private static string MdEscape(string text) => text.Replace("|", "\\|");

    private static string EnvColumn(PropertySpec p, string path, bool topLevel)
    {
        var env = Env(path);
        var parts = new List<string>();
        switch (p.Kind)
        {
            case PropKind.StringList:
                parts.Add($"`{env}` (JSON array or one value)");
                parts.Add($"`{env}__<n>`");
                break;
            case PropKind.StringMap:
                parts.Add($"`{env}` (JSON object)");
                parts.Add($"`{env}__<KEY>`");
                break;
            case PropKind.SectionList:
                parts.Add($"`{env}` (JSON array)");
                parts.Add($"`{env}__<n>__<KEY>`");
                break;
            default:
                parts.Add($"`{env}`");
                break;
        }
        if (topLevel) parts.Add($"`{path.ToLowerInvariant()}`");
        if (p.Secret && p.Kind == PropKind.String) parts.Add($"`{env}_FILE`");
        return string.Join("<br>", parts);
    }

    private static string TypeColumn(PropertySpec p) => p.Kind switch
    {
        PropKind.String => "string",
        PropKind.Bool => "boolean",
        PropKind.Int32 or PropKind.Int64 => p.Unit is null ? "integer" : $"integer ({p.Unit})",
        PropKind.StringList => "list of strings",
        PropKind.StringMap => "map of strings",
        PropKind.RawJson => "object (YAML or JSON text)",
        PropKind.SectionList => "list of mappings",
        _ => "section",
    } + (p.Secret ? ", secret" : "");

    private static void EmitMarkdown(Writer w, Model model, TypeSpec root)
    {
        w.Line("/// <summary>The Markdown key reference (one table per section), with defaults taken from <paramref name=\"d\"/>.</summary>");
        w.Line($"internal static void ConfigWriteMarkdown(global::System.Text.StringBuilder sb, {root.Name} d)");
        w.Line("{");
        MarkdownSection(w, model, root, "", "d", true);
        w.Line("}");
        w.Line();
    }

    private static void MarkdownSection(Writer w, Model model, TypeSpec spec, string path, string expr, bool isRoot)
    {
        var leaves = spec.Properties.Where(p => p.Kind != PropKind.Section).ToList();
        if (leaves.Count > 0)
        {
            w.Line($"sb.Append({Lit("### " + (isRoot ? "Top level" : "`" + path + "`") + "\n\n")});");
            w.Line($"sb.Append({Lit("| Key | Environment | Type | Default | Description |\n|---|---|---|---|---|\n")});");
            foreach (var p in leaves)
            {
                var full = Join(path, p.Key);
                var description = new StringBuilder(MdEscape(p.Doc ?? ""));
                foreach (var a in p.Aliases)
                {
                    var aliasPath = Join(path, a);
                    if (description.Length > 0) description.Append(' ');
                    description.Append($"Also accepted as `{aliasPath}` (`{Env(aliasPath)}`), same setting; `{full}` is canonical.");
                }
                string defaultExpr = p.Kind switch
                {
                    PropKind.SectionList or PropKind.StringMap or PropKind.RawJson => $"{expr}.{p.Name} is null ? null : \"(set)\"",
                    _ => Text(p, expr),
                };
                w.Line($"sb.Append({Lit($"| `{full}` | {EnvColumn(p, full, isRoot)} | {TypeColumn(p)} | ")}).Append({Rt}ConfigOutput.DocDefault({defaultExpr})).Append({Lit($" | {description} |\n")});");
            }
            w.Line("sb.Append('\\n');");
        }
        foreach (var p in spec.Properties)
        {
            if (p.Kind == PropKind.Section)
            {
                MarkdownSection(w, model, model.Type(p.SectionType!), Join(path, p.Key), SectionExpr(p, expr), false);
            }
            else if (p.Kind == PropKind.SectionList)
            {
                MarkdownSection(w, model, model.Type(p.SectionType!), Join(path, p.Key) + "[]", $"new {p.SectionType}()", false);
            }
        }
    }

    // ---- JSON Schema (root only) ---------------------------------------------------------------------------------

    private static void EmitSchema(Writer w, Model model, TypeSpec root)
    {
        w.Line("/// <summary>The JSON Schema (draft 2020-12) of YAML/JSON configuration files, with defaults taken from <paramref name=\"d\"/>.</summary>");
        w.Line($"internal static void ConfigWriteSchema(global::System.Text.Json.Utf8JsonWriter w, {root.Name} d)");
        w.Line("{");
        w.Line("w.WriteStartObject();");
        w.Line("w.WriteString(\"$schema\", \"https://json-schema.org/draft/2020-12/schema\");");
        w.Line("w.WriteString(\"title\", \"Composer configuration\");");
        SchemaObject(w, model, root, "", "d", false, NoAliases, "");
        w.Line("w.WriteEndObject();");
        w.Line("}");
        w.Line();
    }

    private static readonly List<(PropertySpec Target, string Alias)> NoAliases = new();

    /// <summary>
    /// The schema of a section: its keys, then <paramref name="extra"/> (aliases of settings of the owner at
    /// <paramref name="ownerPath"/> written inside this section). A nullable section also accepts null, which
    /// removes the optional section; {} keeps it with its defaults.
    /// </summary>
    private static void SchemaObject(Writer w, Model model, TypeSpec spec, string path, string expr, bool nullable,
        List<(PropertySpec Target, string Alias)> extra, string ownerPath)
    {
        SchemaTypes(w, nullable, "object");
        w.Line("w.WriteBoolean(\"additionalProperties\", false);");
        w.Line("w.WriteStartObject(\"properties\");");
        foreach (var p in spec.Properties)
        {
            var full = Join(path, p.Key);
            w.Line($"w.WriteStartObject({Lit(p.Key)});");
            var doc = p.Doc;
            if (p.Secret) doc = (doc is null ? "" : doc + " ") + "Secret: never printed; also settable from a file with " + Env(full) + "_FILE.";
            if (doc is not null) w.Line($"w.WriteString(\"description\", {Lit(doc)});");
            switch (p.Kind)
            {
                case PropKind.Section:
                    SchemaObject(w, model, model.Type(p.SectionType!), full, SectionExpr(p, expr), p.Nullable, AliasesThrough(spec, p.Key).ToList(), path);
                    break;
                case PropKind.SectionList:
                    SchemaTypes(w, true, "array");
                    w.Line("w.WriteStartObject(\"items\");");
                    SchemaObject(w, model, model.Type(p.SectionType!), full + "[]", $"new {p.SectionType}()", false, NoAliases, full);
                    w.Line("w.WriteEndObject();");
                    break;
                default:
                    SchemaLeaf(w, p, Text(p, expr));
                    break;
            }
            w.Line("w.WriteEndObject();");
        }
        foreach (var (target, alias) in extra)
        {
            w.Line($"w.WriteStartObject({Lit(alias)});");
            w.Line($"w.WriteString(\"description\", {Lit($"Same setting as {Join(ownerPath, target.Key)} (the canonical name).")});");
            SchemaLeaf(w, target, null);
            w.Line("w.WriteEndObject();");
        }
        w.Line("w.WriteEndObject();");
    }

    private static void SchemaTypes(Writer w, bool nullable, params string[] types)
    {
        if (types.Length == 1 && !nullable)
        {
            w.Line($"w.WriteString(\"type\", {Lit(types[0])});");
            return;
        }
        var values = string.Join(" ", types.Concat(nullable ? new[] { "null" } : new string[0]).Select(t => $"w.WriteStringValue({Lit(t)});"));
        w.Line($"w.WriteStartArray(\"type\"); {values} w.WriteEndArray();");
    }

    private static void SchemaLeaf(Writer w, PropertySpec p, string? defaultExpr)
    {
        switch (p.Kind)
        {
            case PropKind.String:
                // YAML plain scalars such as 3 or false are accepted as their text.
                SchemaTypes(w, p.Nullable, "string", "number", "boolean");
                break;
            case PropKind.Bool:
                SchemaTypes(w, p.Nullable, "boolean");
                break;
            case PropKind.Int32 or PropKind.Int64:
                SchemaTypes(w, p.Nullable, "integer");
                break;
            case PropKind.StringList:
                w.Line("w.WriteStartArray(\"anyOf\");");
                w.Line("w.WriteStartObject(); w.WriteString(\"type\", \"array\"); w.WriteStartObject(\"items\"); w.WriteString(\"type\", \"string\"); w.WriteEndObject(); w.WriteEndObject();");
                w.Line("w.WriteStartObject(); w.WriteString(\"type\", \"string\"); w.WriteString(\"description\", \"A JSON array of strings, or a single value.\"); w.WriteEndObject();");
                w.Line("w.WriteStartObject(); w.WriteString(\"type\", \"object\"); w.WriteStartObject(\"patternProperties\"); w.WriteStartObject(\"^[0-9]+$\"); w.WriteString(\"type\", \"string\"); w.WriteEndObject(); w.WriteEndObject(); w.WriteBoolean(\"additionalProperties\", false); w.WriteEndObject();");
                w.Line("w.WriteStartObject(); w.WriteString(\"type\", \"null\"); w.WriteEndObject();");
                w.Line("w.WriteEndArray();");
                break;
            case PropKind.StringMap:
                SchemaTypes(w, true, "object");
                w.Line("w.WriteStartObject(\"additionalProperties\"); w.WriteStartArray(\"type\"); w.WriteStringValue(\"string\"); w.WriteStringValue(\"number\"); w.WriteEndArray(); w.WriteEndObject();");
                break;
            case PropKind.RawJson:
                SchemaTypes(w, true, "object", "string");
                break;
        }
        if (defaultExpr is not null && p.Kind is PropKind.String or PropKind.Bool or PropKind.Int32 or PropKind.Int64)
        {
            w.Line($"{Rt}ConfigOutput.SchemaDefault(w, {defaultExpr});");
        }
    }
}
