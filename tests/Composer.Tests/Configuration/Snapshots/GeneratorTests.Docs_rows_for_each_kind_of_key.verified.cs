// ConfigWriteMarkdown
internal static void ConfigWriteMarkdown(global::System.Text.StringBuilder sb, R d)
{
    sb.Append("### Top level\n\n");
    sb.Append("| Key | Environment | Type | Default | Description |\n|---|---|---|---|---|\n");
    sb.Append("| `name` | `NAME`<br>`name` | string | ").Append(global::Composer.Configuration.ConfigOutput.DocDefault(d.Name)).Append(" | A name \\| with a pipe. |\n");
    sb.Append("| `main` | `MAIN`<br>`main` | string | ").Append(global::Composer.Configuration.ConfigOutput.DocDefault(d.Main)).Append(" | Also accepted as `alt` (`ALT`), same setting; `main` is canonical. |\n");
    sb.Append("| `enabled` | `ENABLED`<br>`enabled` | boolean | ").Append(global::Composer.Configuration.ConfigOutput.DocDefault(d.Enabled)).Append(" |  |\n");
    sb.Append("| `timeout` | `TIMEOUT`<br>`timeout` | integer (seconds) | ").Append(global::Composer.Configuration.ConfigOutput.DocDefault(d.Timeout)).Append(" |  |\n");
    sb.Append("| `hosts` | `HOSTS` (JSON array or one value)<br>`HOSTS__<n>`<br>`hosts` | list of strings | ").Append(global::Composer.Configuration.ConfigOutput.DocDefault(d.Hosts)).Append(" |  |\n");
    sb.Append("| `labels` | `LABELS` (JSON object)<br>`LABELS__<KEY>`<br>`labels` | map of strings | ").Append(global::Composer.Configuration.ConfigOutput.DocDefault(d.Labels is null ? null : "(set)")).Append(" |  |\n");
    sb.Append("| `manifest` | `MANIFEST`<br>`manifest` | object (YAML or JSON text) | ").Append(global::Composer.Configuration.ConfigOutput.DocDefault(d.Manifest is null ? null : "(set)")).Append(" |  |\n");
    sb.Append("| `password` | `PASSWORD`<br>`password`<br>`PASSWORD_FILE` | string, secret | ").Append(global::Composer.Configuration.ConfigOutput.DocDefault(d.Password?.Reveal())).Append(" |  |\n");
    sb.Append("| `proxy` | `PROXY`<br>`proxy`<br>`PROXY_FILE` | string, secret | ").Append(global::Composer.Configuration.ConfigOutput.DocDefault(d.Proxy)).Append(" |  |\n");
    sb.Append('\n');
}
