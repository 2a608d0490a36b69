using System.Globalization;

namespace Smpc.TestSupport;

/// <summary>
/// Finds processes by an environment variable they inherited (e.g. a marker set on a script that started them), however
/// they were detached (own session, double fork): /proc/PID/environ is the process's starting environment.
/// </summary>
public static class MarkedProcesses
{
    /// <summary>The live processes whose environment holds <paramref name="variable"/>=<paramref name="value"/>, with their command lines.</summary>
    public static IReadOnlyList<(int Pid, string CommandLine)> Find(string variable, string value)
    {
        var marker = variable + "=" + value;
        var found = new List<(int, string)>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid == Environment.ProcessId) continue;
            try
            {
                if (!File.ReadAllText(Path.Combine(dir, "environ")).Split('\0').Contains(marker)) continue;
                if (File.ReadAllText(Path.Combine(dir, "stat")).Split(')')[^1].TrimStart().StartsWith('Z')) continue; // a zombie holds nothing
                found.Add((pid, File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ').Trim()));
            }
            catch (IOException) { } // exited while being read
            catch (UnauthorizedAccessException) { }
        }

        return found;
    }
}
