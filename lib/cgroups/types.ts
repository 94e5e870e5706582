// linux.resources of the runtime-spec, as typed here (the schema in spec/config.schema.json checks its shape).
export interface DeviceRule {
  allow: boolean;
  type?: 'a' | 'c' | 'b';
  major?: number;
  minor?: number;
  access?: string;
}

export interface ThrottleDevice {
  major: number;
  minor: number;
  rate: number;
}

export interface Resources {
  devices?: DeviceRule[];
  memory?: {
    limit?: number; reservation?: number; swap?: number; kernel?: number; kernelTCP?: number;
    swappiness?: number; disableOOMKiller?: boolean; useHierarchy?: boolean; checkBeforeUpdate?: boolean;
  };
  cpu?: {
    shares?: number; quota?: number; burst?: number; period?: number; realtimeRuntime?: number;
    realtimePeriod?: number; cpus?: string; mems?: string; idle?: number;
  };
  pids?: { limit?: number };
  blockIO?: {
    weight?: number; leafWeight?: number;
    weightDevice?: { major: number; minor: number; weight?: number; leafWeight?: number }[];
    throttleReadBpsDevice?: ThrottleDevice[]; throttleWriteBpsDevice?: ThrottleDevice[];
    throttleReadIOPSDevice?: ThrottleDevice[]; throttleWriteIOPSDevice?: ThrottleDevice[];
  };
  hugepageLimits?: { pageSize: string; limit: number }[];
  network?: { classID?: number; priorities?: { name: string; priority: number }[] };
  rdma?: Record<string, { hcaHandles?: number; hcaObjects?: number }>;
  unified?: Record<string, string>;
}

/** One write into a cgroup file: `controller` names the v1 hierarchy ('' for the unified one). */
export interface CgroupWrite {
  controller: string;
  file: string;
  value: string;
  /** The config field it comes from, for errors: /linux/resources/memory/limit. */
  field: string;
  /** Written instead when the kernel lacks `file` (io.bfq.weight -> io.weight). */
  fallback?: { file: string; value: string };
  /** Skipped when the kernel lacks `file` (memory.swap.max "max" without swap accounting). */
  optional?: boolean;
}
