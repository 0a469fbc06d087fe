using Composer.Diagnostics;
using Composer.Reconciliation;

namespace Composer.Orchestration;

/// <summary>
/// The one place an orchestrator turns a <see cref="DesiredConnector"/> into its <see cref="ConnectorWorkload"/>, from
/// the manager's <see cref="WorkloadContext"/>; with manager.debug.show_env_vars, each built workload's environment is
/// logged, sensitive values masked.
/// </summary>
public sealed class WorkloadBuilder(WorkloadContext context, Logger logger, bool showEnvVars = false)
{
    public ConnectorWorkload Build(DesiredConnector connector)
    {
        var workload = ConnectorWorkload.Build(connector, context);
        if (showEnvVars)
        {
            logger.Info("Connector environment", ("connector", connector.Name), ("connector_id", connector.Id), ("environment", workload.DescribeEnvironment()));
        }
        return workload;
    }
}
