using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Smpc.Contracts;
using Smpc.Grains.Interfaces.Access;
using Smpc.Grains.Interfaces.Audit;
using Smpc.Grains.Interfaces.Diagnostics;
using Smpc.Grains.Interfaces.Errors;
using Smpc.Grains.Interfaces.Webhooks;
using Smpc.Grains.Storage;
using Smpc.Protocols.Webhooks;

namespace Smpc.Grains.Webhooks;

/// <summary>
/// A tenant's webhooks: endpoints, and per endpoint a durable queue and log of deliveries, sent in order.
/// <list type="number">
/// <item>The tenant's audit log pokes this grain (one-way) after each append while the tenant has endpoints; the grain
/// reads the entries after its cursor, makes one delivery per matching endpoint (webhook-id <c>msg_</c> + a hash of
/// tenant, endpoint and audit sequence, so a delivery made again after a crash keeps its id) and stores them with the
/// new cursor in one write.</item>
/// <item>Per endpoint, only the head of the queue is attempted (head-of-line: a later event waits until the earlier one
/// is delivered or given up, so events of a session arrive in order). Before an attempt the grain stores it (attempt
/// count, next retry time), so a crash mid-attempt resends the same delivery after its backoff.</item>
/// <item>The HTTP POST runs outside the grain's turns: the turn starts it and returns, and the outcome comes back as a
/// call of <see cref="IWebhookDispatcherGrain.CompleteAttemptAsync"/>, a turn of its own. So a slow receiver never
/// holds up the audit log's pokes nor the REST reads, without making the grain reentrant (every state change stays one
/// turn).</item>
/// <item>A 2xx is delivered; anything else is retried after 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, then hourly (±20 %
/// jitter) until <see cref="WebhookOptions.GiveUpAfter"/> after the event, then failed (logged, counted) and the queue
/// moves on.</item>
/// <item>While anything is pending a grain timer fires at the next due attempt. While the tenant has any endpoint an
/// Orleans reminder (every minute) brings the grain back to read the audit log after its cursor and resume what is due:
/// it makes up a poke lost with a silo, and a silo that died or a grain that was deactivated. It is unregistered when
/// the last endpoint is deleted. At silo start every tenant with endpoints is poked too
/// (<see cref="IWebhookTenantsGrain"/>), which covers embedded mode's in-memory reminders.</item>
/// </list>
/// </summary>
[GrainType("webhook-dispatcher")]
public sealed class WebhookDispatcherGrain(
    [PersistentState("webhooks", SmpcDatabase.GrainStorageName)] IPersistentState<WebhookDispatcherState> state,
    TimeProvider time, IOptions<WebhookOptions> options, WebhookSender sender, ILogger<WebhookDispatcherGrain> log)
    : Grain, IWebhookDispatcherGrain, IRemindable
{
    /// <summary>The reminder that wakes the grain while the tenant has endpoints.</summary>
    public const string ReminderName = "webhooks";

    /// <summary>Longest description accepted.</summary>
    public const int MaxDescriptionLength = 500;

    /// <summary>Most deliveries one page of the log holds.</summary>
    public const int MaxPageSize = 500;

    private static readonly TimeSpan ReminderPeriod = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan MinTimerDelay = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan RetryAfterStorageFailure = TimeSpan.FromSeconds(5);

    /// <summary>Pending deliveries per active dispatcher of this silo, summed by the backlog gauge.</summary>
    private static readonly ConcurrentDictionary<string, int> Backlog = new();

    private static readonly ObservableGauge<long> BacklogGauge =
        SmpcTelemetry.Meter.CreateObservableGauge(SmpcTelemetry.WebhookBacklogName, () => (long)Backlog.Values.Sum(), description: "Webhook deliveries pending in this silo's active dispatchers.");

    /// <summary>Attempts running outside the grain's turns: endpoint → (delivery number, attempt, when started, for the lost-attempt check).</summary>
    private readonly Dictionary<string, (long Number, int Attempt, long StartedTicks)> _inFlight = [];

    private IGrainTimer? _timer;
    private bool _reminderRegistered;

    private string Tenant => this.GetPrimaryKeyString();

    private WebhookOptions Options => options.Value;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _ = BacklogGauge; // the gauge exists once any dispatcher ran in this silo
        if (state.State.Endpoints.Count > 0) ArmTimer(TimeSpan.Zero); // catch up and resume pending deliveries
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        Backlog.TryRemove(Tenant, out _);
        return Task.CompletedTask;
    }

    async Task<WebhookEndpointInfo> IWebhookDispatcherGrain.CreateEndpointAsync(Caller caller, WebhookEndpointSpec spec)
    {
        RequireAdmin(caller);
        if (WebhookUrlRule.Check(spec.Url, Options.AllowLoopbackHttp, Options.AllowPrivateAddresses) is { } urlProblem) throw SmpcException.Invalid(urlProblem);
        var unknown = spec.EventTypes.Where(t => !WebhookEventTypes.All.Contains(t)).ToList();
        if (unknown.Count > 0) throw SmpcException.Invalid($"Unknown event types: {string.Join(", ", unknown)}; known: {string.Join(", ", WebhookEventTypes.All)}.");
        if (spec.Description is { Length: > MaxDescriptionLength }) throw SmpcException.Invalid($"A description is at most {MaxDescriptionLength} characters.");
        if (spec.Secret is not null && !WebhookSignature.IsValidSecret(spec.Secret))
            throw SmpcException.Invalid($"A secret is '{WebhookSignature.SecretPrefix}' followed by base64 of {WebhookSignature.MinSecretBytes}–{WebhookSignature.MaxSecretBytes} bytes.");
        if (state.State.Endpoints.Count >= Options.MaxEndpointsPerTenant)
            throw SmpcException.Conflict($"Tenant '{Tenant}' already has {Options.MaxEndpointsPerTenant} webhook endpoints, the most allowed; delete one first.");

        var first = state.State.Endpoints.Count == 0;
        if (first) await GrainFactory.GetWebhookTenants().SetAsync(Tenant, true);
        // From here on every append pokes this grain; entries up to the head returned are before the endpoint's time.
        var head = await GrainFactory.GetAuditLog(Tenant).FollowAsync(true);
        if (first) state.State.Cursor = Math.Max(state.State.Cursor, head);
        var endpoint = new WebhookEndpointRecord
        {
            Id = "wh_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(10)),
            Url = spec.Url,
            EventTypes = [.. spec.EventTypes.Distinct()],
            Description = string.IsNullOrWhiteSpace(spec.Description) ? null : spec.Description.Trim(),
            CreatedAt = time.GetUtcNow(),
            Secret = spec.Secret ?? WebhookSignature.NewSecret(),
            StartAfter = head,
        };
        state.State.Endpoints.Add(endpoint);
        await state.WriteOrRollbackAsync(this, "webhooks.create");
        await EnsureReminderAsync();
        return ToInfo(endpoint) with { Secret = endpoint.Secret };
    }

    Task<IReadOnlyList<WebhookEndpointInfo>> IWebhookDispatcherGrain.ListEndpointsAsync(Caller caller)
    {
        RequireAdmin(caller);
        return Task.FromResult<IReadOnlyList<WebhookEndpointInfo>>([.. state.State.Endpoints.Select(ToInfo)]);
    }

    Task<WebhookEndpointInfo> IWebhookDispatcherGrain.GetEndpointAsync(Caller caller, string endpointId) => Task.FromResult(ToInfo(Endpoint(caller, endpointId)));

    async Task IWebhookDispatcherGrain.DeleteEndpointAsync(Caller caller, string endpointId)
    {
        var endpoint = Endpoint(caller, endpointId);
        state.State.Endpoints.Remove(endpoint);
        await state.WriteOrRollbackAsync(this, "webhooks.delete");
        _inFlight.Remove(endpoint.Id); // an attempt still running reports to an endpoint that is gone, and is ignored
        UpdateBacklog();
        if (state.State.Endpoints.Count == 0)
        {
            // After the write: if these fail, the log merely keeps poking (or the reminder waking) a grain with nothing to do.
            _timer?.Dispose();
            _timer = null;
            await UnregisterReminderAsync();
            await GrainFactory.GetAuditLog(Tenant).FollowAsync(false);
            await GrainFactory.GetWebhookTenants().SetAsync(Tenant, false);
        }
    }

    Task<WebhookDeliveryPage> IWebhookDispatcherGrain.ListDeliveriesAsync(Caller caller, string endpointId, int limit, string? cursor)
    {
        var endpoint = Endpoint(caller, endpointId);
        if (limit is < 1 or > MaxPageSize) throw SmpcException.Invalid($"limit must be between 1 and {MaxPageSize}.");
        var before = long.MaxValue;
        if (cursor is not null && (!long.TryParse(cursor, NumberStyles.None, CultureInfo.InvariantCulture, out before) || before < 1))
            throw SmpcException.Invalid("cursor is not a cursor of this delivery log (pass a previous page's next).");
        var older = endpoint.Log.Where(d => d.Number < before).ToList();
        var page = older.TakeLast(limit).Reverse().Select(ToInfo).ToList();
        var next = older.Count > limit ? older[^limit].Number.ToString(CultureInfo.InvariantCulture) : null;
        return Task.FromResult(new WebhookDeliveryPage(page, next));
    }

    async Task<WebhookDeliveryInfo> IWebhookDispatcherGrain.RedeliverAsync(Caller caller, string endpointId, string deliveryId)
    {
        var endpoint = Endpoint(caller, endpointId);
        var delivery = endpoint.Log.FirstOrDefault(d => d.Id == deliveryId) ?? throw SmpcException.NotFound($"Delivery '{deliveryId}'");
        if (delivery.Status != WebhookDeliveryStatuses.Pending)
        {
            // A finished delivery keeps no body: made again, byte for byte, from its audit entry (the mapping is deterministic).
            var body = delivery.Body.Length > 0 ? delivery.Body : await RebuildBodyAsync(delivery);
            var now = time.GetUtcNow();
            delivery.Body = body;
            delivery.Status = WebhookDeliveryStatuses.Pending; // retried like a new delivery: attempts and backoff start over
            delivery.Attempts = 0;
            delivery.LastAttemptAt = null;
            delivery.LastStatusCode = null;
            delivery.LastError = null;
            delivery.NextAttemptAt = now;
            delivery.DeliveredAt = null;
            delivery.GiveUpAt = now + Options.GiveUpAfter;
            endpoint.Queue.Add(delivery.Number);
            await state.WriteOrRollbackAsync(this, "webhooks.redeliver");
            await PumpSafelyAsync();
        }

        return ToInfo(delivery);
    }

    async Task IWebhookDispatcherGrain.NotifyAsync()
    {
        if (state.State.Endpoints.Count == 0) return;
        await PumpSafelyAsync(catchUp: true);
    }

    async Task IWebhookDispatcherGrain.CompleteAttemptAsync(WebhookAttemptOutcome outcome)
    {
        if (_inFlight.TryGetValue(outcome.EndpointId, out var running) && running.Number == outcome.Number && running.Attempt == outcome.Attempt)
            _inFlight.Remove(outcome.EndpointId);
        var endpoint = state.State.Endpoints.FirstOrDefault(e => e.Id == outcome.EndpointId);
        var delivery = endpoint?.Find(outcome.Number);
        if (endpoint is not null && delivery is { Status: WebhookDeliveryStatuses.Pending } && delivery.Attempts == outcome.Attempt)
        {
            var now = time.GetUtcNow();
            delivery.LastStatusCode = outcome.StatusCode;
            if (outcome.Delivered)
            {
                delivery.Status = WebhookDeliveryStatuses.Delivered;
                delivery.DeliveredAt = now;
                delivery.NextAttemptAt = null;
                delivery.LastError = null;
                delivery.Body = ""; // kept small: a redelivery rebuilds it from the audit entry
                endpoint.Queue.Remove(delivery.Number);
                SmpcTelemetry.WebhookDeliveries.Add(1, new KeyValuePair<string, object?>("outcome", "delivered"));
                SmpcTelemetry.WebhookDeliveryLag.Record(Math.Max(0, (now - delivery.OccurredAt).TotalSeconds));
            }
            else
            {
                delivery.LastError = outcome.Error;
                delivery.NextAttemptAt = now + Backoff(delivery.Attempts);
                SmpcTelemetry.WebhookDeliveries.Add(1, new KeyValuePair<string, object?>("outcome", "retry"));
            }

            await state.WriteOrRollbackAsync(this, "webhooks.attempted");
        }

        await PumpSafelyAsync();
    }

    async Task IRemindable.ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != ReminderName) return;
        if (state.State.Endpoints.Count == 0)
        {
            await UnregisterReminderAsync(); // left over from a delete whose unregistration failed
            return;
        }

        await PumpSafelyAsync(catchUp: true);
    }

    private async Task UnregisterReminderAsync()
    {
        try
        {
            if (await this.GetReminder(ReminderName) is { } reminder) await this.UnregisterReminder(reminder);
            _reminderRegistered = false;
        }
        catch (Exception ex)
        {
            // Harmless: the next tick finds no endpoint and tries again.
            log.LogWarning("Webhooks of tenant {Tenant}: could not unregister the reminder: {Error}", Tenant, ex.GetType().Name);
        }
    }


    /// <summary>Catches up (when asked) and sends what is due; a storage failure is logged and retried shortly, never lost.</summary>
    private async Task PumpSafelyAsync(bool catchUp = false)
    {
        try
        {
            if (catchUp) await CatchUpAsync();
            await PumpAsync();
        }
        catch (Exception ex)
        {
            log.LogWarning("Webhooks of tenant {Tenant}: {Error}; trying again in {Delay}.", Tenant, ex.GetType().Name + ": " + ex.Message, RetryAfterStorageFailure);
            ArmTimer(RetryAfterStorageFailure);
        }
    }

    /// <summary>Turns the audit entries after the cursor into deliveries, stored with the new cursor in one write.</summary>
    private async Task CatchUpAsync()
    {
        if (state.State.Endpoints.Count == 0) return;
        var auditLog = GrainFactory.GetAuditLog(Tenant);
        var changed = false;
        while (true)
        {
            var page = await auditLog.ReadAsync(state.State.Cursor, AuditQuery.MaxLimit);
            foreach (var entry in page.Entries)
            {
                if (WebhookEvents.From(Tenant, entry) is { } payload)
                {
                    string? body = null;
                    foreach (var endpoint in state.State.Endpoints.Where(e => entry.Sequence > e.StartAfter && e.Takes(payload.Type)))
                        Enqueue(endpoint, entry, payload, body ??= WebhookEvents.Serialize(payload));
                }

                state.State.Cursor = entry.Sequence;
                changed = true;
            }

            if (page.Next is null || page.Entries.Count == 0) break;
        }

        if (!changed) return;
        foreach (var endpoint in state.State.Endpoints) Trim(endpoint);
        await state.WriteOrRollbackAsync(this, "webhooks.enqueue");
        UpdateBacklog();
    }

    private void Enqueue(WebhookEndpointRecord endpoint, AuditEntry entry, WebhookEventPayload payload, string body)
    {
        var delivery = new WebhookDeliveryRecord
        {
            Number = endpoint.NextNumber++,
            Id = MessageId(Tenant, endpoint.Id, entry.Sequence),
            AuditSequence = entry.Sequence,
            EventType = payload.Type,
            Session = payload.Data.Session,
            OccurredAt = entry.Time,
            Body = body,
            Status = WebhookDeliveryStatuses.Pending,
            GiveUpAt = entry.Time + Options.GiveUpAfter,
        };
        endpoint.Log.Add(delivery);
        endpoint.Queue.Add(delivery.Number);
    }

    /// <summary>The body of a finished delivery, made again from its audit entry.</summary>
    private async Task<string> RebuildBodyAsync(WebhookDeliveryRecord delivery)
    {
        var page = await GrainFactory.GetAuditLog(Tenant).ReadAsync(delivery.AuditSequence - 1, 1);
        var entry = page.Entries.FirstOrDefault(e => e.Sequence == delivery.AuditSequence);
        var payload = entry is null ? null : WebhookEvents.From(Tenant, entry);
        if (payload is null || payload.Type != delivery.EventType)
            throw SmpcException.Conflict($"Delivery '{delivery.Id}' cannot be made again: its audit entry {delivery.AuditSequence} is not readable.");
        return WebhookEvents.Serialize(payload);
    }

    /// <summary>The webhook-id of an event's delivery to an endpoint: stable, so a delivery made again after a crash keeps it.</summary>
    public static string MessageId(string tenant, string endpointId, long auditSequence) =>
        "msg_" + Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"{tenant}/{endpointId}/{auditSequence.ToString(CultureInfo.InvariantCulture)}")))[..32];

    /// <summary>Drops the oldest finished deliveries beyond the log's bound; pending ones are never dropped.</summary>
    private void Trim(WebhookEndpointRecord endpoint)
    {
        var excess = endpoint.Log.Count - Options.MaxLoggedDeliveries;
        if (excess <= 0) return;
        var drop = endpoint.Log.Where(d => d.Status != WebhookDeliveryStatuses.Pending).Take(excess).Select(d => d.Number).ToHashSet();
        endpoint.Log.RemoveAll(d => drop.Contains(d.Number));
    }

    /// <summary>
    /// Starts the due head delivery of every endpoint with no attempt running: gives up the ones past their time, stores
    /// the attempts, then sends them outside this turn. Re-arms the timer and makes sure the reminder runs while work is pending.
    /// </summary>
    private async Task PumpAsync()
    {
        var now = time.GetUtcNow();
        var lostAfter = Stopwatch.Frequency * (long)(Options.Timeout + TimeSpan.FromSeconds(30)).TotalSeconds;
        foreach (var (id, running) in _inFlight.ToList())
            if (Stopwatch.GetTimestamp() - running.StartedTicks > lostAfter) _inFlight.Remove(id); // its outcome never came back: try again

        var starts = new List<WebhookRequest>();
        var changed = false;
        foreach (var endpoint in state.State.Endpoints)
        {
            if (_inFlight.ContainsKey(endpoint.Id)) continue;
            while (endpoint.Queue.Count > 0)
            {
                var delivery = endpoint.Find(endpoint.Queue[0]);
                if (delivery is not { Status: WebhookDeliveryStatuses.Pending })
                {
                    endpoint.Queue.RemoveAt(0);
                    changed = true;
                    continue;
                }

                if (delivery.NextAttemptAt is { } due && due > now) break;
                if (delivery.Attempts > 0 && now >= delivery.GiveUpAt)
                {
                    delivery.Status = WebhookDeliveryStatuses.Failed;
                    delivery.NextAttemptAt = null;
                    delivery.Body = "";
                    endpoint.Queue.RemoveAt(0);
                    changed = true;
                    SmpcTelemetry.WebhookDeliveries.Add(1, new KeyValuePair<string, object?>("outcome", "failed"));
                    log.LogWarning("Webhook delivery {Delivery} ({Type}) of tenant {Tenant} to endpoint {Endpoint} failed after {Attempts} attempts: {Error}",
                        delivery.Id, delivery.EventType, Tenant, endpoint.Id, delivery.Attempts, delivery.LastError);
                    continue;
                }

                delivery.Attempts++;
                delivery.LastAttemptAt = now;
                delivery.NextAttemptAt = now + Backoff(delivery.Attempts); // if this silo dies mid-attempt, the retry's time
                starts.Add(new WebhookRequest(Tenant, endpoint.Id, endpoint.Url, endpoint.Secret, delivery.Id, delivery.Number, delivery.Attempts, delivery.Body));
                changed = true;
                break;
            }
        }

        if (changed)
        {
            foreach (var endpoint in state.State.Endpoints) Trim(endpoint);
            await state.WriteOrRollbackAsync(this, "webhooks.attempt"); // durable before the request leaves
        }

        foreach (var request in starts)
        {
            _inFlight[request.EndpointId] = (request.Number, request.Attempt, Stopwatch.GetTimestamp());
            Launch(request);
        }

        UpdateBacklog();
        ArmTimer(null);
        await EnsureReminderAsync();
    }

    /// <summary>Sends outside the grain's turns; the outcome comes back as a call of its own (retried a few times if that call fails).</summary>
    private void Launch(WebhookRequest request)
    {
        var self = this.AsReference<IWebhookDispatcherGrain>();
        using (ExecutionContext.SuppressFlow())
        {
            _ = Task.Run(async () =>
            {
                var outcome = await sender.SendAsync(request);
                for (var tries = 1; ; tries++)
                {
                    try
                    {
                        await self.CompleteAttemptAsync(outcome);
                        return;
                    }
                    catch (Exception) when (tries < 5)
                    {
                        await Task.Delay(TimeSpan.FromSeconds(tries));
                    }
                    catch (Exception)
                    {
                        return; // the delivery stays pending with its retry time: the lost-attempt check or the reminder sends it again
                    }
                }
            });
        }
    }

    /// <summary>Arms the one timer for the next due attempt (or <paramref name="delay"/>), or clears it when nothing waits.</summary>
    private void ArmTimer(TimeSpan? delay)
    {
        if (delay is null)
        {
            var now = time.GetUtcNow();
            DateTimeOffset? next = null;
            foreach (var endpoint in state.State.Endpoints.Where(e => e.Queue.Count > 0 && !_inFlight.ContainsKey(e.Id)))
            {
                var due = endpoint.Find(endpoint.Queue[0])?.NextAttemptAt ?? now;
                if (next is null || due < next) next = due;
            }

            if (_inFlight.Count > 0)
            {
                var lost = now + Options.Timeout + TimeSpan.FromSeconds(31);
                if (next is null || lost < next) next = lost;
            }

            delay = next - now;
        }

        _timer?.Dispose();
        _timer = null;
        if (delay is not { } wait) return;
        if (wait < MinTimerDelay) wait = MinTimerDelay;
        if (wait > TimeSpan.FromHours(1)) wait = TimeSpan.FromHours(1);
        _timer = this.RegisterGrainTimer(_ => PumpSafelyAsync(catchUp: true), new GrainTimerCreationOptions(wait, Timeout.InfiniteTimeSpan));
    }

    private async Task EnsureReminderAsync()
    {
        if (_reminderRegistered || state.State.Endpoints.Count == 0) return;
        try
        {
            await this.RegisterOrUpdateReminder(ReminderName, ReminderPeriod, ReminderPeriod);
            _reminderRegistered = true;
        }
        catch (Exception ex)
        {
            // The timer keeps sending while the grain is active; the next pump tries the reminder again.
            log.LogWarning("Webhooks of tenant {Tenant}: could not register the reminder: {Error}", Tenant, ex.GetType().Name + ": " + ex.Message);
        }
    }

    private TimeSpan Backoff(int failedAttempts)
    {
        var delays = WebhookOptions.RetryDelays;
        var delay = delays[Math.Clamp(failedAttempts - 1, 0, delays.Count - 1)];
        var jitter = 0.8 + (Random.Shared.NextDouble() * 0.4);
        return delay * (jitter * Options.RetryDelayScale);
    }

    private void UpdateBacklog() => Backlog[Tenant] = state.State.Endpoints.Sum(e => e.Queue.Count);

    private void RequireAdmin(Caller caller)
    {
        caller.RequireTenant(Tenant, $"Tenant '{Tenant}'");
        caller.RequireRole(CallerRole.TenantAdmin);
    }

    private WebhookEndpointRecord Endpoint(Caller caller, string endpointId)
    {
        RequireAdmin(caller);
        return state.State.Endpoints.FirstOrDefault(e => e.Id == endpointId) ?? throw SmpcException.NotFound($"Webhook '{endpointId}'");
    }

    private static WebhookEndpointInfo ToInfo(WebhookEndpointRecord e) => new(e.Id, e.Url, [.. e.EventTypes], e.Description, e.CreatedAt, Disabled: false);

    private static WebhookDeliveryInfo ToInfo(WebhookDeliveryRecord d) => new(
        d.Id, d.EventType, d.Session, d.OccurredAt, d.Status, d.Attempts, d.LastAttemptAt, d.LastStatusCode, d.LastError,
        d.Status == WebhookDeliveryStatuses.Pending ? d.NextAttemptAt : null, d.DeliveredAt);
}
