using System.Text;

namespace PcapDht.Fuzz;

/// <summary>Small valid and near-valid messages AFL starts from (written at run time: no corpus in git).</summary>
internal static class Seeds
{
    private static readonly string[] Messages =
    [
        "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe",
        "d1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:re",
        "d1:eli201e23:A Generic Error Ocurrede1:t2:aa1:y1:ee",
        "d1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz123456e1:q9:find_node1:t2:aa1:y1:qe",
        "d1:rd2:id20:0123456789abcdefghij5:nodes26:abcdefghij0123456789\u0001\u0002\u0003\u0004\u001a\u00e1e1:t2:aa1:y1:re",
        "d1:rd2:id20:abcdefghij01234567895:token8:aoeusnth6:valuesl6:axje.u6:idhtnm18:0123456789abcdef\u001a\u00e1ee1:t2:aa1:y1:re",
        "d1:ad2:id20:abcdefghij012345678912:implied_porti1e9:info_hash20:mnopqrstuvwxyz1234564:porti6881e5:token8:aoeusnthe1:q13:announce_peer1:t2:aa1:y1:qe",
        "d2:ip6:\u0001\u0002\u0003\u0004\u001a\u00e11:rd2:id20:abcdefghij01234567891:pi6881e7:samples20:mnopqrstuvwxyz1234563:numi3e8:intervali60ee1:t2:aa1:v4:LT\u0001\u00021:y1:re",
        "d1:ad2:id20:abcdefghij01234567891:k32:abcdefghijabcdefghijabcdefghijab3:seqi4e3:cas" + "i3e3:sig64:" + new string('s', 64) + "1:vd1:xli1ei-2eee4:wantl2:n42:n6ee1:q3:put1:t2:aa1:y1:qe",
        "d1:q9:find_node1:rd2:id20:abcdefghij01234567897:nodes\0v0:e1:t4:abcd1:y1:re",
        "li1ei-1e0:d1:ae1:b1:xee",
    ];

    public static void Write(string directory)
    {
        Directory.CreateDirectory(directory);
        for (int i = 0; i < Messages.Length; i++)
            File.WriteAllBytes(Path.Combine(directory, $"seed{i:D2}.bin"), Encoding.Latin1.GetBytes(Messages[i]));
    }
}
