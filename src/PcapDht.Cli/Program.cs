using PcapDht.Cli;

return await PcapDhtApp.RunAsync(args);
