namespace Smpc.Cli;

/// <summary>The exit codes of <c>smpc</c>, documented in docs/cli.md; scripts may branch on them.</summary>
public static class ExitCodes
{
    /// <summary>Success.</summary>
    public const int Ok = 0;

    /// <summary>The service refused the request (invalid, conflicting, wrong phase, a session that failed).</summary>
    public const int Refused = 1;

    /// <summary>The command line is wrong: unknown command or option, a missing or malformed option value.</summary>
    public const int Usage = 2;

    /// <summary>A local file is missing, unreadable or invalid (agent configuration, spec, CSV, database, identity key).</summary>
    public const int Input = 3;

    /// <summary>No API key, or the key is wrong, revoked, or not allowed to do this (401, 403).</summary>
    public const int Auth = 4;

    /// <summary>The tenant, session, pod, modeller or key does not exist for this key (404).</summary>
    public const int NotFound = 5;

    /// <summary>The service could not be reached or stayed unavailable while retrying (network, 5xx, 429).</summary>
    public const int Unavailable = 6;

    /// <summary>The run finished, but its result includes fewer pods than <c>--min-pods</c> asked for.</summary>
    public const int TooFewPods = 7;

    /// <summary>
    /// A pod's identity differs from its pin (the service presents another key, or an unpinned pod with
    /// <c>--no-trust-on-first-use</c>), or <c>smpc pins add</c> would replace a different pin: a hard stop.
    /// </summary>
    public const int IdentityMismatch = 8;

    /// <summary>A bug in smpc: an unexpected error (rerun with --verbose and report the trace).</summary>
    public const int Internal = 70;

    /// <summary>Stopped with Ctrl+C.</summary>
    public const int Cancelled = 130;
}
