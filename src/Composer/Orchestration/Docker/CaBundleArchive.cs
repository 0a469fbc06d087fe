using System.Formats.Tar;

namespace Composer.Orchestration.Docker;

/// <summary>
/// The tar that PUT /containers/{id}/archive?path=/ extracts to put the CA bundle at
/// <see cref="ConnectorNetworkEnvironment.CaBundlePath"/> (root:root, 0644, readable by any user). It holds the file
/// alone, no directory entries: the engine creates missing parents (0755, root), so an image without /etc/ssl works,
/// and an existing /etc/ssl/certs keeps its mode and owner; a directory entry would make the engine replace a
/// symlinked /etc/ssl/certs (RHEL-style images) with a directory that hides the image's own certificates.
/// </summary>
public static class CaBundleArchive
{
    private const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    /// <summary>The archive, relative to "/", positioned at its start.</summary>
    public static MemoryStream Create(byte[] bundle, DateTimeOffset modified)
    {
        var archive = new MemoryStream(bundle.Length + 2048);
        using (var tar = new TarWriter(archive, TarEntryFormat.Ustar, leaveOpen: true))
        {
            using var content = new MemoryStream(bundle, writable: false);
            tar.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, ConnectorNetworkEnvironment.CaBundlePath.TrimStart('/'))
            {
                Mode = FileMode,
                Uid = 0,
                Gid = 0,
                ModificationTime = modified,
                DataStream = content,
            });
        }
        archive.Position = 0;
        return archive;
    }
}
