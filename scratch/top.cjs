const fs=require('fs');const dir=process.argv[2];for(const f of fs.readdirSync(dir)){const p=JSON.parse(fs.readFileSync(dir+'/'+f));
const self=new Map();const dt=p.timeDeltas;const cnt=new Map();p.samples.forEach((s,i)=>cnt.set(s,(cnt.get(s)||0)+(dt[i]||0)));
for(const n of p.nodes){const k=n.callFrame.functionName+' '+n.callFrame.url.split('/').slice(-2).join('/')+':'+n.callFrame.lineNumber;self.set(k,(self.get(k)||0)+(cnt.get(n.id)||0));}
console.log(f);console.log([...self].sort((a,b)=>b[1]-a[1]).slice(0,Number(process.argv[3]||25)).map(([k,v])=>(v/1000).toFixed(0)+'ms '+k).join('\n'))}
