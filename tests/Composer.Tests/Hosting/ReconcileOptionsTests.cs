using Composer.Configuration;
using Composer.Hosting;
using Composer.Reconciliation;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.Hosting;

public class ReconcileOptionsTests
{
    [Test]
    public async Task Options_come_from_the_manager_and_the_platforms_own_settings()
    {
        var settings = new ComposerSettings();
        settings.Manager.Id = "m1";
        settings.Manager.ExecuteSchedule = 15;
        settings.Manager.MaxParallel = 8;
        settings.Manager.Debug.ShowEnvVars = true;
        settings.OpenCti.LogsSchedule = 20;
        settings.OpenAev.LogsSchedule = 40;
        settings.OpenAev.Enable = true;
        settings.OpenAev.Url = "https://openaev.example.com";

        var openCti = ManagerRuntime.ReconcileOptionsFor(TestSettings.Resolve(settings), PlatformKind.OpenCti);
        var instance = ConnectorLabels.PlatformInstanceValue(settings.OpenCti.Url);
        await Assert.That(openCti).IsEqualTo(new ReconcileOptions(PlatformKind.OpenCti, "m1", instance, true, TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(15), 8));
        await Assert.That(openCti.HealthInterval).IsEqualTo(TimeSpan.FromMinutes(4));
        await Assert.That(openCti.ConnectorDeadline).IsEqualTo(TimeSpan.FromMinutes(5));
        await Assert.That(openCti.StopRebootLoops).IsFalse();
        await Assert.That(openCti.MaxBackoff).IsEqualTo(TimeSpan.FromMinutes(5));

        settings.Manager.HealthSchedule = 30;
        settings.Manager.ConnectorDeadline = 45;
        settings.Manager.RebootLoop.Stop = true;
        var configured = ManagerRuntime.ReconcileOptionsFor(TestSettings.Resolve(settings), PlatformKind.OpenCti);
        await Assert.That(configured.HealthInterval).IsEqualTo(TimeSpan.FromSeconds(30));
        await Assert.That(configured.ConnectorDeadline).IsEqualTo(TimeSpan.FromSeconds(45));
        await Assert.That(configured.StopRebootLoops).IsTrue();

        var openAev = ManagerRuntime.ReconcileOptionsFor(TestSettings.Resolve(settings), PlatformKind.OpenAev);
        await Assert.That(openAev.LogsSchedule).IsEqualTo(TimeSpan.FromSeconds(40));
        // Each platform is its own instance: the label follows its URL.
        await Assert.That(openAev.PlatformInstance).IsEqualTo(ConnectorLabels.PlatformInstanceValue(settings.OpenAev.Url));
        await Assert.That(openAev.PlatformInstance).IsNotEqualTo(instance);
        await Assert.That(openAev.OtherPlatformsEnabled).IsTrue(); // OpenCTI is enabled by default
        settings.OpenCti.Enable = false;
        await Assert.That(ManagerRuntime.ReconcileOptionsFor(TestSettings.Resolve(settings), PlatformKind.OpenAev).OtherPlatformsEnabled).IsFalse();
    }
}
