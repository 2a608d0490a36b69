using Smpc.Grains.Interfaces.Errors;

namespace Smpc.Grains.Tenancy;

/// <summary>Validation rules shared by tenants, pods and modellers.</summary>
internal static class MemberRules
{
    public const int MaxDisplayNameLength = 200;

    public static void ValidateDisplayName(string? displayName)
    {
        if (string.IsNullOrWhiteSpace(displayName))
            throw SmpcException.Invalid("displayName is required.");
        if (displayName.Length > MaxDisplayNameLength)
            throw SmpcException.Invalid($"displayName is longer than {MaxDisplayNameLength} characters.");
        if (displayName.Any(char.IsControl))
            throw SmpcException.Invalid("displayName contains control characters.");
    }
}
