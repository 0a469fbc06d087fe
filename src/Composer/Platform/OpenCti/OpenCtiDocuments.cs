namespace Composer.Platform.OpenCti;

/// <summary>
/// The seven GraphQL documents, byte for byte as upstream sends them (upstream-behaviour §2.2): two-space indentation,
/// LF line ends, a final newline. OpenCTI deployments may log or allow-list them, so they must not drift.
/// </summary>
internal static class OpenCtiDocuments
{
    private const string ManagedConnectorFields =
        "    id\n" +
        "    name\n" +
        "    manager_contract_hash\n" +
        "    manager_contract_image\n" +
        "    manager_current_status\n" +
        "    manager_requested_status\n" +
        "    manager_contract_configuration {\n" +
        "      key\n" +
        "      value\n" +
        "      encrypted\n" +
        "    }\n";

    public const string GetVersion =
        "query GetVersion {\n" +
        "  about {\n" +
        "    version\n" +
        "  }\n" +
        "}\n";

    public const string GetConnectors =
        "query GetConnectors {\n" +
        "  connectorsForManagers {\n" +
        ManagedConnectorFields +
        "  }\n" +
        "}\n";

    public const string UpdateConnectorManagerStatus =
        "mutation UpdateConnectorManagerStatus($input: UpdateConnectorManagerStatusInput!) {\n" +
        "  updateConnectorManagerStatus(input: $input) {\n" +
        "    id\n" +
        "    about_version\n" +
        "  }\n" +
        "}\n";

    public const string RegisterConnectorsManager =
        "mutation RegisterConnectorsManager($input: RegisterConnectorsManagerInput!) {\n" +
        "  registerConnectorsManager(input: $input) {\n" +
        "    id\n" +
        "    about_version\n" +
        "  }\n" +
        "}\n";

    public const string UpdateConnectorCurrentStatus =
        "mutation UpdateConnectorCurrentStatus($input: CurrentConnectorStatusInput!) {\n" +
        "  updateConnectorCurrentStatus(input: $input) {\n" +
        ManagedConnectorFields +
        "  }\n" +
        "}\n";

    public const string ReportConnectorLogs =
        "mutation ReportConnectorLogs($input: LogsConnectorStatusInput!) {\n" +
        "  updateConnectorLogs(input: $input)\n" +
        "}\n";

    public const string UpdateConnectorHealth =
        "mutation UpdateConnectorHealth($input: HealthConnectorStatusInput!) {\n" +
        "  updateConnectorHealth(input: $input)\n" +
        "}\n";
}
