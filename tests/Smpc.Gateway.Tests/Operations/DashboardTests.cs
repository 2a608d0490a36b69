using System.Text.Json;

namespace Smpc.Gateway.Tests.Operations;

/// <summary>The Grafana dashboard is importable: valid JSON, a uid and title, and every panel queries Prometheus.</summary>
public sealed class DashboardTests
{
    [Fact]
    public void Dashboard_ParsesAndEveryPanelHasADatasourceAndAQuery()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(ObservabilityFiles.Dashboard));
        var root = document.RootElement;
        Assert.Equal("smpc-service", root.GetProperty("uid").GetString());
        Assert.False(string.IsNullOrWhiteSpace(root.GetProperty("title").GetString()));
        Assert.Contains(root.GetProperty("templating").GetProperty("list").EnumerateArray(), v => v.GetProperty("type").GetString() == "datasource");

        var panels = ObservabilityFiles.Panels(root).Where(p => p.GetProperty("type").GetString() != "row").ToList();
        Assert.True(panels.Count >= 20, $"only {panels.Count} panels");
        Assert.Equal(panels.Count, panels.Select(p => p.GetProperty("id").GetInt32()).Distinct().Count());
        foreach (var panel in panels)
        {
            var title = panel.GetProperty("title").GetString();
            Assert.Equal("prometheus", panel.GetProperty("datasource").GetProperty("type").GetString());
            var targets = panel.GetProperty("targets").EnumerateArray().ToList();
            Assert.True(targets.Count > 0, $"panel '{title}' has no query");
            foreach (var target in targets)
                Assert.False(string.IsNullOrWhiteSpace(target.GetProperty("expr").GetString()), $"panel '{title}' has an empty query");
        }
    }

    [Fact]
    public void Dashboard_CoversTheIssuesMetrics()
    {
        var names = ObservabilityFiles.DashboardMetricNames().ToHashSet();
        foreach (var name in new[]
        {
            "http_server_request_duration_seconds_count", "http_server_request_duration_seconds_bucket", "smpc_sessions_by_phase",
            "smpc_session_phase_end_seconds_bucket", "smpc_sessions_ended_total", "smpc_payload_bytes_stored_bytes_total", "smpc_psi_bytes_total",
            "smpc_quota_rejections_total", "smpc_storage_failures_total", "smpc_webhook_deliveries_total", "smpc_webhook_delivery_lag_seconds_bucket",
            "smpc_webhook_backlog", "smpc_cluster_silos", "orleans_grains",
        })
            Assert.Contains(name, names);
    }

    [Fact]
    public void MetricNames_AreTheSelectorsOfAnExpression_NotFunctionsLabelsOrKeywords()
    {
        var names = ObservabilityFiles.MetricNames(
            "histogram_quantile(0.95, sum by (le, http_route) (rate(a_bucket{job=~\"$job\",x=\"y z\"}[$__rate_interval]))) / on(job) b_total offset 5m > 1e3 and max_over_time(c[1h:1m])").ToList();
        Assert.Equal(["a_bucket", "b_total", "c"], names);
    }
}
