using Microsoft.Extensions.FileProviders;
using Smpc.ApiGateway.Problems;
using Smpc.Contracts;

namespace Smpc.ApiGateway.Hosting;

/// <summary>
/// The tenant console (console/, a Vite-built single-page app) at <c>/console</c>: its built files, and index.html for every
/// other path below it (client-side routes). Anonymous like any static page: the console itself calls the public REST API
/// with the user's key. Not an endpoint, so it is not in the OpenAPI document.
/// </summary>
public static class ConsoleHostingExtensions
{
    /// <summary>Where the console is served.</summary>
    public static readonly PathString Path = new("/console");

    /// <summary>Configuration section: <c>Enabled</c> (default true) and <c>Path</c> (the built files; default wwwroot/console beside the gateway assembly).</summary>
    public const string Section = "Smpc:Console";

    /// <summary>
    /// The console loads its own module script, stylesheet and icon and calls only this origin's API: no inline or
    /// evaluated script, no inline style, no framing, no other origin.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; object-src 'none'; " +
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    /// <summary>The directory the build writes to, beside the gateway assembly (also inside the silo's output, which references it).</summary>
    public static string DefaultDirectory => System.IO.Path.Combine(AppContext.BaseDirectory, "wwwroot", "console");

    /// <summary>Whether the request is for the console (at or below its path; inside the console's branch the path base holds it).</summary>
    public static bool IsConsoleRequest(HttpContext http) => http.Request.PathBase.Add(http.Request.Path).StartsWithSegments(Path, StringComparison.OrdinalIgnoreCase);

    /// <summary>Serves the console's files, with index.html for client routes; a clear 404 problem when it was not built.</summary>
    public static WebApplication UseSmpcConsole(this WebApplication app)
    {
        var section = app.Configuration.GetSection(Section);
        if (!section.GetValue("Enabled", true)) return app;
        var directory = section["Path"] is { Length: > 0 } configured ? System.IO.Path.GetFullPath(configured) : DefaultDirectory;
        var index = System.IO.Path.Combine(directory, "index.html");
        app.Map(Path, console =>
        {
            if (File.Exists(index))
            {
                var files = new PhysicalFileProvider(directory);
                console.UseStaticFiles(new StaticFileOptions { FileProvider = files });
                console.Run(async http =>
                {
                    // Client routes get the page; a missing asset (or any other method) is a plain 404.
                    if (!(HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsHead(http.Request.Method)) || http.Request.Path.StartsWithSegments("/assets"))
                    {
                        await NotFound(StatusCodes.Status404NotFound, $"No console file at '{Path}{http.Request.Path}'.").ExecuteAsync(http);
                        return;
                    }

                    http.Response.ContentType = "text/html; charset=utf-8";
                    await http.Response.SendFileAsync(files.GetFileInfo("index.html"));
                });
            }
            else
            {
                console.Run(http => NotFound(StatusCodes.Status404NotFound,
                    $"The console was not built (no {index}). Install Node.js 20+ with npm and build again (`dotnet build` runs `npm ci` and " +
                    "`npm run build` in console/), or run them in console/ yourself; Smpc:Console:Path names another directory.").ExecuteAsync(http));
            }
        });
        return app;
    }

    private static IResult NotFound(int status, string detail) =>
        ProblemMapping.Problem(status, ProblemTypes.RouteNotFound, "Not found", detail);
}
