// ConfigWriteMarkdown
internal static void ConfigWriteMarkdown(global::System.Text.StringBuilder sb, R d)
{
    sb.Append("### Top level\n\n");
    sb.Append("| Key | Environment | Type | Default | Description |\n|---|---|---|---|---|\n");
    sb.Append("| `items` | `ITEMS` (JSON array)<br>`ITEMS__<n>__<KEY>`<br>`items` | list of mappings | ").Append(global::Composer.Configuration.ConfigOutput.DocDefault(d.Items is null ? null : "(set)")).Append(" |  |\n");
    sb.Append('\n');
    sb.Append("### `child`\n\n");
    sb.Append("| Key | Environment | Type | Default | Description |\n|---|---|---|---|---|\n");
    sb.Append("| `child.depth` | `CHILD__DEPTH` | integer | ").Append(global::Composer.Configuration.ConfigOutput.DocDefault(d.Child.Depth)).Append(" |  |\n");
    sb.Append("| `child.hosts` | `CHILD__HOSTS` (JSON array or one value)<br>`CHILD__HOSTS__<n>` | list of strings | ").Append(global::Composer.Configuration.ConfigOutput.DocDefault(d.Child.Hosts)).Append(" |  |\n");
    sb.Append('\n');
    sb.Append("### `optional`\n\n");
    sb.Append("| Key | Environment | Type | Default | Description |\n|---|---|---|---|---|\n");
    sb.Append("| `optional.depth` | `OPTIONAL__DEPTH` | integer | ").Append(global::Composer.Configuration.ConfigOutput.DocDefault((d.Optional ?? new global::Composer.Configuration.C()).Depth)).Append(" |  |\n");
    sb.Append("| `optional.hosts` | `OPTIONAL__HOSTS` (JSON array or one value)<br>`OPTIONAL__HOSTS__<n>` | list of strings | ").Append(global::Composer.Configuration.ConfigOutput.DocDefault((d.Optional ?? new global::Composer.Configuration.C()).Hosts)).Append(" |  |\n");
    sb.Append('\n');
    sb.Append("### `items[]`\n\n");
    sb.Append("| Key | Environment | Type | Default | Description |\n|---|---|---|---|---|\n");
    sb.Append("| `items[].depth` | `ITEMS__<n>__DEPTH` | integer | ").Append(global::Composer.Configuration.ConfigOutput.DocDefault(new global::Composer.Configuration.C().Depth)).Append(" |  |\n");
    sb.Append("| `items[].hosts` | `ITEMS__<n>__HOSTS` (JSON array or one value)<br>`ITEMS__<n>__HOSTS__<n>` | list of strings | ").Append(global::Composer.Configuration.ConfigOutput.DocDefault(new global::Composer.Configuration.C().Hosts)).Append(" |  |\n");
    sb.Append('\n');
}
