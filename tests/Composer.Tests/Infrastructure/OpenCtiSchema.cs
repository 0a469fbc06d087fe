namespace Composer.Tests.Infrastructure;

/// <summary>
/// The schema of the manager's operations as OpenCTI declares them (written from platform-facts.md and OpenCTI's
/// connector.graphql; not copied): the two queries and five mutations XTM Composer uses, the types they return and
/// their inputs, with OpenCTI's <c>@auth</c> capabilities and <c>@constraint</c> rules. Fields whose types belong to
/// the rest of OpenCTI's schema (users, metrics, representative) are left out: selecting them is refused like any
/// unknown field. <see cref="GraphQlEngine"/> validates every document against it and shapes every answer by it.
/// </summary>
public static class OpenCtiSchema
{
    public const string Sdl = """
        directive @auth(for: [Capability] = [], and: Boolean = false) on OBJECT | FIELD_DEFINITION
        directive @constraint(minLength: Int, format: String) on INPUT_FIELD_DEFINITION | ARGUMENT_DEFINITION

        enum Capability { BYPASS CONNECTORAPI SETTINGS_SETACCESSES MODULES MODULES_MODMANAGE }

        "RFC 3339 date-time: YYYY-MM-DDThh:mm:ss, an optional fraction, then Z or +hh:mm / -hh:mm."
        scalar DateTime

        type Query {
          about: AppInfo @auth
          connectorsForManagers: [ManagedConnector!] @auth(for: [SETTINGS_SETACCESSES])
        }

        type Mutation {
          registerConnectorsManager(input: RegisterConnectorsManagerInput): ConnectorManager @auth(for: [CONNECTORAPI])
          updateConnectorManagerStatus(input: UpdateConnectorManagerStatusInput): ConnectorManager @auth(for: [CONNECTORAPI])
          updateConnectorCurrentStatus(input: CurrentConnectorStatusInput!): ManagedConnector @auth(for: [CONNECTORAPI])
          updateConnectorLogs(input: LogsConnectorStatusInput!): ID! @auth(for: [CONNECTORAPI])
          updateConnectorHealth(input: HealthConnectorStatusInput!): ID! @auth(for: [CONNECTORAPI])
        }

        type AppInfo {
          version: String!
        }

        type ManagedConnector {
          id: ID!
          standard_id: String!
          entity_type: String!
          parent_types: [String!]!
          name: String!
          connector_user_id: ID
          connector_state_timestamp: DateTime
          manager: ConnectorManager
          manager_contract_image: String!
          manager_current_status: String
          manager_requested_status: String!
          manager_contract_configuration: [ConnectorContractConfiguration!]!
          manager_contract_hash: String!
          manager_connector_logs: [String!]!
          manager_health_metrics: ConnectorHealthMetrics
          manager_connector_uptime: Int
        }

        type ConnectorContractConfiguration {
          key: String!
          value: String
          encrypted: Boolean
        }

        type ConnectorHealthMetrics {
          restart_count: Int!
          started_at: DateTime!
          last_update: DateTime!
          is_in_reboot_loop: Boolean!
        }

        type ConnectorManager {
          id: ID!
          standard_id: String!
          entity_type: String!
          parent_types: [String!]!
          name: String!
          public_key: String!
          last_sync_execution: DateTime
          about_version: String!
          active: Boolean!
        }

        enum ConnectorRequestStatus { starting stopping }

        enum ConnectorCurrentStatus { started stopped }

        input RegisterConnectorsManagerInput {
          id: ID!
          name: String! @constraint(minLength: 2, format: "not-blank")
          public_key: String!
        }

        input UpdateConnectorManagerStatusInput {
          id: ID!
        }

        input CurrentConnectorStatusInput {
          id: ID!
          status: ConnectorCurrentStatus!
        }

        input LogsConnectorStatusInput {
          id: ID!
          logs: [String!]!
        }

        input HealthConnectorStatusInput {
          id: ID!
          restart_count: Int!
          started_at: DateTime!
          is_in_reboot_loop: Boolean!
        }
        """;

    private static readonly Lazy<GraphQlSchema> Parsed = new(() => GraphQlSchema.Parse(Sdl));

    public static GraphQlSchema Schema => Parsed.Value;
}
