using System.Globalization;
using System.Text;
using Smpc.Client.Records;
using Smpc.Protocols.Federated.Training;

namespace Smpc.Samples;

/// <summary>Two synthetic customer lists with planted matches that differ only in case, spacing, Unicode form and phone formatting (for `smpc demo` and benchmarks).</summary>
/// <remarks>
/// Every person is a pure function of (seed, person id), so rows are made while writing and nothing but the two row
/// orders is held in memory. Person ids: [0, overlap) are in both lists, then the modeller's own, then the pod's own.
/// E-mail addresses carry a number that is a bijection of the id, so two different people never encode alike, and
/// phone numbers are bijections of the id too. A UK phone number is written in one of nine formats; the two copies of a
/// planted person always use different ones.
/// </remarks>
public static class CustomerListGenerator
{
    /// <summary>The modeller's columns.</summary>
    public static readonly IReadOnlyList<string> ModellerColumns = ["client_ref", "full_name", "mail", "telephone"];

    /// <summary>The pod's columns.</summary>
    public static readonly IReadOnlyList<string> PodColumns = ["customer_id", "name", "email", "phone", "city"];

    /// <summary>People per list at most (phone numbers are unique below this).</summary>
    public const int MaxPeople = 10_000_000;

    private const int PhoneFormats = 9;

    private static readonly string[] FirstNames =
    [
        "Ann", "José", "Chloé", "Zoë", "Renée", "François", "Hélène", "Björn", "Siobhán", "Seán", "Noël", "Inès", "Åsa",
        "Jürgen", "Raúl", "Tomás", "Léa", "Oliver", "Amelia", "George", "Isla", "Harry", "Ava", "Jack", "Mia", "Noah",
        "Grace", "Leo", "Freya", "Arthur", "Ella", "Oscar", "Lily", "Mohammed", "Priya", "Wei", "Aisha", "Kwame", "Olga",
        "Pavel", "Yuki", "Mary Jane",
    ];

    private static readonly string[] LastNames =
    [
        "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel", "Khan", "Müller",
        "García", "Núñez", "Pérez", "Dvořák", "Šimek", "Öztürk", "Lefèvre", "Brontë", "Rodríguez", "Gómez", "Wright",
        "Walker", "Hughes", "Evans", "Thomas", "Roberts", "Green", "Hall", "Wood", "Clarke", "Jackson", "Nguyen",
        "Kowalski", "Jensen", "Håkansson", "Ó Briain", "Smith-Jones",
    ];

    private static readonly string[] Cities =
    [
        "London", "Manchester", "Birmingham", "Leeds", "Glasgow", "Edinburgh", "Cardiff", "Belfast", "Bristol", "Liverpool",
        "Newcastle", "Sheffield", "Nottingham", "Brighton", "Oxford", "Cambridge", "York", "Aberdeen", "Swansea", "Norwich",
    ];

    private static readonly string[] Domains = ["example.com", "example.org", "mail.example.net", "example.co.uk", "gmail.com"];

    private static readonly string[] FirstAscii = [.. FirstNames.Select(Ascii)];
    private static readonly string[] LastAscii = [.. LastNames.Select(Ascii)];

    /// <summary>
    /// Writes <paramref name="modellerCsv"/> (client_ref, full_name, mail, telephone) and <paramref name="podCsv"/>
    /// (customer_id, name, email, phone, city) with exactly <paramref name="overlap"/> planted matches on (name, email,
    /// phone); the pod side also repeats a few rows exactly. Deterministic in <paramref name="seed"/>.
    /// </summary>
    /// <returns>The modeller's client_ref of each planted match, sorted (ordinal).</returns>
    public static IReadOnlyList<string> Write(string modellerCsv, string podCsv, int modellerRows, int podRows, int overlap, int seed = 1)
    {
        ArgumentNullException.ThrowIfNull(modellerCsv);
        ArgumentNullException.ThrowIfNull(podCsv);
        ArgumentOutOfRangeException.ThrowIfNegative(modellerRows);
        ArgumentOutOfRangeException.ThrowIfNegative(podRows);
        ArgumentOutOfRangeException.ThrowIfNegative(overlap);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(overlap, Math.Min(modellerRows, podRows));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(modellerRows, MaxPeople);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(podRows, MaxPeople);

        var duplicates = podRows < 10 ? 0 : Math.Min(podRows - overlap, Math.Clamp(podRows / 100, 2, 10));
        var podUnique = podRows - duplicates;
        var people = new People(seed, modellerRows + podUnique - overlap);
        var random = new SplitMix(Hash((ulong)(uint)seed, 0x5EED));

        var planted = WriteModeller(modellerCsv, modellerRows, overlap, people, random);
        WritePod(podCsv, modellerRows, podUnique, overlap, duplicates, people, random);
        return planted;
    }

    private static List<string> WriteModeller(string path, int rows, int overlap, People people, SplitMix random)
    {
        var planted = new List<string>(overlap);
        var order = Shuffle(Enumerable.Range(0, rows), rows, random);
        using var writer = new CsvRowWriter(path, ModellerColumns);
        for (var position = 0; position < order.Length; position++)
        {
            var id = order[position];
            var clientRef = "C" + (position + 1).ToString("D8", CultureInfo.InvariantCulture);
            if (id < overlap) planted.Add(clientRef);
            writer.WriteRow(people.Get(id).ModellerRow(clientRef));
        }

        planted.Sort(StringComparer.Ordinal);
        return planted;
    }

    private static void WritePod(string path, int modellerRows, int unique, int overlap, int duplicates, People people, SplitMix random)
    {
        var order = Shuffle(Enumerable.Range(0, overlap).Concat(Enumerable.Range(modellerRows, unique - overlap)), unique, random);
        var duplicateSources = new HashSet<int>();
        while (duplicateSources.Count < duplicates) duplicateSources.Add(random.Next(unique));

        // A repeated row comes back a little later, as an exact copy (same customer_id).
        var pending = new List<(int After, string?[] Row)>();
        using var writer = new CsvRowWriter(path, PodColumns);
        for (var position = 0; position < order.Length; position++)
        {
            var customerId = "P" + (position + 1).ToString("D8", CultureInfo.InvariantCulture);
            var row = people.Get(order[position]).PodRow(customerId);
            writer.WriteRow(row);
            if (duplicateSources.Contains(position)) pending.Add((Math.Min(unique - 1, position + random.Next(50)), row));
            foreach (var copy in pending.Where(p => p.After == position)) writer.WriteRow(copy.Row);
            pending.RemoveAll(p => p.After == position);
        }
    }

    private static int[] Shuffle(IEnumerable<int> items, int count, SplitMix random)
    {
        var array = new int[count];
        var i = 0;
        foreach (var item in items) array[i++] = item;
        for (i = count - 1; i > 0; i--)
        {
            var j = random.Next(i + 1);
            (array[i], array[j]) = (array[j], array[i]);
        }

        return array;
    }

    /// <summary>Lower-case ASCII letters of a name, for e-mail addresses ("Ó Briain" → "obriain").</summary>
    private static string Ascii(string name)
    {
        var ascii = new StringBuilder(name.Length);
        foreach (var c in name.Normalize(NormalizationForm.FormD))
        {
            if (char.IsAsciiLetter(c)) ascii.Append(char.ToLowerInvariant(c));
        }

        return ascii.ToString();
    }

    private static ulong Hash(ulong a, ulong b) => new SplitMix(a * 0x9E3779B97F4A7C15 ^ b).NextUInt64();

    /// <summary>SplitMix64: small, fast and the same on every runtime (System.Random's seeded sequence is not promised to be).</summary>
    private sealed class SplitMix(ulong state)
    {
        private ulong _state = state;

        public ulong NextUInt64()
        {
            var z = _state += 0x9E3779B97F4A7C15;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
            return z ^ (z >> 31);
        }

        public int Next(int bound) => (int)(NextUInt64() % (ulong)bound);
    }

    /// <summary>Makes person <c>id</c>: the same person for the same seed, in whichever list it appears.</summary>
    private sealed class People(int seed, int count)
    {
        private readonly ulong _salt = Hash((ulong)(uint)seed, 0xC0FFEE);

        // The e-mail number is an odd multiple of the id modulo a power of two ≥ count: a bijection, so unique.
        private readonly int _emailBits = Math.Max(14, (int)Math.Ceiling(Math.Log2(Math.Max(count, 2))));

        public Person Get(int id)
        {
            var r = new SplitMix(Hash(_salt, (ulong)id));
            var first = r.Next(FirstNames.Length);
            var last = r.Next(LastNames.Length);
            var mask = (1UL << _emailBits) - 1;
            var number = (((ulong)id * 0x2545F491UL) + _salt) & mask;
            var local = $"{FirstAscii[first]}.{LastAscii[last]}{number.ToString(CultureInfo.InvariantCulture)}";
            var domain = Domains[r.Next(Domains.Length)];

            // National significant numbers of 10 digits, each kind a bijection of the id (multipliers prime to 10):
            // London 20 xxxx xxxx, Manchester 161 xxx xxxx, mobile 77xx xxx xxx.
            var salt = (long)(_salt % 1_000_000UL);
            string area, rest;
            switch (r.Next(10))
            {
                case < 5:
                    (area, rest) = ("20", ((id * 7_654_321L + salt) % 100_000_000L).ToString("D8", CultureInfo.InvariantCulture));
                    break;
                case < 7:
                    (area, rest) = ("161", ((id * 1_234_567L + salt) % 10_000_000L).ToString("D7", CultureInfo.InvariantCulture));
                    break;
                default:
                    var mobile = ((id * 3_141_593L + salt) % 100_000_000L).ToString("D8", CultureInfo.InvariantCulture);
                    (area, rest) = ("77" + mobile[..2], mobile[2..]);
                    break;
            }

            var split = rest.Length == 8 ? 4 : 3;
            var modellerFormat = r.Next(PhoneFormats);
            return new Person(
                FirstNames[first],
                LastNames[last],
                local,
                domain,
                Phone(area, rest[..split], rest[split..], modellerFormat),
                Phone(area, rest[..split], rest[split..], (modellerFormat + 1 + r.Next(PhoneFormats - 1)) % PhoneFormats),
                Cities[r.Next(Cities.Length)],
                CaseStyle: r.Next(3),
                SpaceStyle: r.Next(5),
                Decompose: r.Next(2) == 0,
                EmailStyle: r.Next(3));
        }

        /// <summary>One UK number in one of <see cref="PhoneFormats"/> textually different but equivalent forms.</summary>
        private static string Phone(string area, string a, string b, int format) => format switch
        {
            0 => $"+44 {area} {a} {b}",
            1 => $"0{area}-{a}-{b}",
            2 => $"0044 (0){area} {a} {b}",
            3 => $"(0{area}) {a} {b}",
            4 => $"+44 (0){area} {a} {b}",
            5 => $"0{area}{a}{b}",
            6 => $"+44{area}{a}{b}",
            7 => $"0{area} {a} {b}",
            _ => $"+44.{area}.{a}.{b}",
        };
    }

    private sealed record Person(
        string First, string Last, string EmailLocal, string Domain, string ModellerPhone, string PodPhone, string City,
        int CaseStyle, int SpaceStyle, bool Decompose, int EmailStyle)
    {
        /// <summary>The modeller's copy: title case, single spaces, NFC, lower-case e-mail.</summary>
        public string?[] ModellerRow(string clientRef) => [clientRef, $"{First} {Last}", $"{EmailLocal}@{Domain}", ModellerPhone];

        /// <summary>The pod's copy: other case, odd spacing, sometimes NFD, e-mail in other case, other phone format.</summary>
        public string?[] PodRow(string customerId)
        {
            var (first, last) = CaseStyle switch
            {
                0 => (First.ToUpperInvariant(), Last.ToUpperInvariant()),
                1 => (First.ToLowerInvariant(), Last.ToLowerInvariant()),
                _ => (First.ToLowerInvariant(), Last.ToUpperInvariant()),
            };
            var name = SpaceStyle switch
            {
                0 => $" {first} {last} ",
                1 => $"{first}  {last}",
                2 => $"{first} {last}\t",
                3 => $"{first}\u00A0{last}",
                _ => $"  {first}   {last}",
            };
            if (Decompose) name = name.Normalize(NormalizationForm.FormD);
            var email = EmailStyle switch
            {
                0 => $"{Capitalize(EmailLocal)}@{Domain}",
                1 => $"{EmailLocal}@{Domain}".ToUpperInvariant(),
                _ => $"{EmailLocal}@{string.Join('.', Domain.Split('.').Select(Capitalize))}",
            };
            return [customerId, name, email, PodPhone, City];
        }

        private static string Capitalize(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];
    }
}
