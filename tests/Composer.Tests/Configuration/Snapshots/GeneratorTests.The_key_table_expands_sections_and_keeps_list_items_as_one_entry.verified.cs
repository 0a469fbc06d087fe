// ConfigSlotCount
internal const int ConfigSlotCount = 9;

// ConfigSlots
internal static readonly global::Composer.Configuration.ConfigSlot[] ConfigSlots =
[
    new("", "", -1, global::Composer.Configuration.SlotKind.Section, false, false, false, null, null, []),
    new("timeout", "timeout", 0, global::Composer.Configuration.SlotKind.Int32, false, false, false, "seconds", "Seconds to wait.", []),
    new("child", "child", 0, global::Composer.Configuration.SlotKind.Section, false, false, false, null, null, []),
    new("child.depth", "depth", 2, global::Composer.Configuration.SlotKind.Int32, false, false, false, null, null, []),
    new("child.tags", "tags", 2, global::Composer.Configuration.SlotKind.StringList, true, false, false, null, null, []),
    new("items", "items", 0, global::Composer.Configuration.SlotKind.SectionList, true, false, false, null, null, []),
    new("on", "on", 0, global::Composer.Configuration.SlotKind.Bool, false, false, false, null, null, ["enabled"]),
    new("password", "password", 0, global::Composer.Configuration.SlotKind.String, true, true, false, null, null, []),
    new("proxy", "proxy", 0, global::Composer.Configuration.SlotKind.String, true, true, true, null, null, []),
];
